// The farm under failures on the machine's Redis (127.0.0.1:6379); the suite itself: farm-e2e-resilience-suite.ts.
import { resilienceSuite } from './farm-e2e-resilience-suite.ts'

resilienceSuite()
