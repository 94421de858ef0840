// A bot logs in with its token (from the vault) in one step.
import { botLogin } from '../../auth/flows/bot-login.ts'
import { authorized, claim } from './login-outcomes.ts'
import type { StepContext, StepOutcome } from './step-context.ts'

export async function botStep(ctx: StepContext): Promise<StepOutcome> {
  const held = await claim(ctx)
  if (held) return held
  const token = (await ctx.cfg.vault.get(ctx.jobId)).botToken
  if (!token) {
    await ctx.finish()
    return ctx.final('failed(no_token)')
  }
  const c = await ctx.client()
  const auth = await botLogin(c.host, token)
  return authorized(ctx, auth)
}
