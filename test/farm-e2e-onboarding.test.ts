// End to end onboarding on the machine's Redis (127.0.0.1:6379); the suite itself: farm-e2e-onboarding-suite.ts.
import { onboardingSuite } from './farm-e2e-onboarding-suite.ts'

onboardingSuite()
