// A one-line live progress bar for a TTY (redrawn in place at most every 100 ms); nothing at all elsewhere.
import type { RunProgress } from '../farm/coordinator.ts'
import { escapeControlCharacters } from '../foundation/terminal-text.ts'
import { writeRaw } from './terminal-output.ts'

const REDRAW_MS = 100

function clock(ms: number): string {
  const s = Math.floor(ms / 1000)
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`
}

export function renderProgress(p: RunProgress, width = 24): string {
  const ratio = p.total === 0 ? 1 : p.done / p.total
  const filled = Math.round(ratio * width)
  const ok = (p.byState['authorized'] ?? 0) + (p.byState['duplicate'] ?? 0)
  const notOk = p.done - ok
  const rate = p.elapsedMs > 0 ? (p.done / p.elapsedMs) * 1000 : 0
  return `[${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${p.done}/${p.total}  ok ${ok}  not ok ${notOk}  waiting ${p.waiting}  running ${p.running}  queued ${Math.max(0, p.queued)}  ${rate.toFixed(1)}/s  ${clock(p.elapsedMs)}`
}

export class ProgressBar {
  private last: RunProgress | undefined
  private timer: NodeJS.Timeout | undefined
  private drawnAt = 0
  readonly enabled: boolean

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly label = '',
  ) {
    this.enabled = stream.isTTY === true
  }

  update(p: RunProgress): void {
    if (!this.enabled) return
    this.last = p
    const wait = this.drawnAt + REDRAW_MS - Date.now()
    if (wait <= 0) this.draw()
    else this.timer ??= setTimeout(() => this.draw(), wait)
  }

  /** Clears the line so a log line can be written, then redraws on the next update. */
  clear(): void {
    if (this.enabled) writeRaw(this.stream, '\r\x1b[2K')
  }

  /** Draws the last state and ends the line. */
  done(): void {
    if (!this.enabled) return
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.last) this.draw()
    this.stream.write('\n')
  }

  private draw(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (!this.last) return
    this.drawnAt = Date.now()
    const columns = this.stream.columns || 120
    const line = `${this.label}${renderProgress(this.last)}`
    writeRaw(this.stream, `\r\x1b[2K${escapeControlCharacters(line.slice(0, Math.max(20, columns - 1)))}`)
  }
}
