// The device identity an account shows Telegram in initConnection (device_model, system_version, app_version, lang
// codes), chosen once per account and kept: Telegram lists it in the account's sessions, and an account whose
// identity changes between connections, or that shows a library's defaults, stands out. Presets are real apps on
// real devices (docs/device-identities.md names the sources); which one an account gets is derived from its key, so
// a retried first login picks the same.
import { createHash } from 'node:crypto'
import type { DeviceIdentity } from './storage/session-storage.ts'

export type DevicePlatform = 'windows' | 'macos' | 'linux' | 'android' | 'ios'
export const DEVICE_PLATFORMS: readonly DevicePlatform[] = ['windows', 'macos', 'linux', 'android', 'ios']

export interface DevicePreset {
  readonly id: string
  readonly platform: DevicePlatform
  /** The official app's api_id: lang_pack is only sent when the account connects with it (other apps send ''). */
  readonly officialApiId: number
  readonly langPack: string
  readonly deviceModel: string
  readonly systemVersion: string
  readonly appVersion: string
}

/** What gramfarm's Client sends when nothing else is known: the fingerprint presets exist to avoid. */
export const LIBRARY_DEFAULT_DEVICE: Pick<DeviceIdentity, 'deviceModel' | 'appVersion'> = {
  deviceModel: 'gramfarm',
  appVersion: '0.1.0',
}

// Telegram Desktop: api_id 2040, lang_pack "tdesktop"; app_version "<version> x64" on 64-bit Windows and Linux builds,
// device_model the machine's product name (Linux builds without one say "PC 64bit"), system_version as the OS names
// itself. Versions: tdesktop releases 5.12.3, 5.13.1, 5.14.3 (2025).
// Telegram Android: api_id 6, lang_pack "android"; device_model "<Manufacturer> <Build.MODEL>", system_version
// "SDK <api level>", app_version "<version> (<build>)" with the build numbers of Telegram Android's BuildVars
// (10.0.5 = 3804, 10.3.2 = 4139, 11.14.1 = 6108).
// Telegram iOS: api_id 10840, lang_pack "ios"; device_model the iPhone's marketing name, system_version the iOS version.
export const DEVICE_PRESETS: readonly DevicePreset[] = [
  desktop('win-msi-1', 'windows', 'MS-7C02', 'Windows 10', '5.12.3 x64'),
  desktop('win-lenovo-1', 'windows', '20QV0007US', 'Windows 11', '5.13.1 x64'),
  desktop('win-dell-1', 'windows', 'XPS 15 9520', 'Windows 11', '5.14.3 x64'),
  desktop('win-asus-1', 'windows', 'ROG Strix G513QM', 'Windows 10', '5.13.1 x64'),
  desktop('mac-mbp-1', 'macos', 'MacBook Pro', 'macOS 14.5', '5.12.3'),
  desktop('mac-mba-1', 'macos', 'MacBook Air', 'macOS 15.3', '5.14.3'),
  desktop('mac-imac-1', 'macos', 'iMac', 'macOS 13.6', '5.13.1'),
  desktop('linux-pc-1', 'linux', 'PC 64bit', 'Linux ubuntu', '5.12.3 x64'),
  desktop('linux-thinkpad-1', 'linux', 'ThinkPad X1 Carbon Gen 9', 'Linux KDE', '5.14.3 x64'),
  android('android-s23u', 'Samsung SM-S918B', 'SDK 34', '11.14.1 (6108)'),
  android('android-s23', 'Samsung SM-S911B', 'SDK 34', '11.14.1 (6108)'),
  android('android-a54', 'Samsung SM-A546B', 'SDK 33', '10.3.2 (4139)'),
  android('android-pixel8', 'Google Pixel 8', 'SDK 34', '11.14.1 (6108)'),
  android('android-pixel7a', 'Google Pixel 7a', 'SDK 33', '10.3.2 (4139)'),
  android('android-redmi-note12', 'Xiaomi 23021RAAEG', 'SDK 33', '10.0.5 (3804)'),
  ios('ios-15pro', 'iPhone 15 Pro', '17.5.1'),
  ios('ios-14', 'iPhone 14', '17.6.1'),
  ios('ios-13promax', 'iPhone 13 Pro Max', '16.7.8'),
  ios('ios-12', 'iPhone 12', '17.5.1'),
]

function desktop(
  id: string,
  platform: DevicePlatform,
  deviceModel: string,
  systemVersion: string,
  appVersion: string,
): DevicePreset {
  return { id, platform, officialApiId: 2040, langPack: 'tdesktop', deviceModel, systemVersion, appVersion }
}

function android(id: string, deviceModel: string, systemVersion: string, appVersion: string): DevicePreset {
  return { id, platform: 'android', officialApiId: 6, langPack: 'android', deviceModel, systemVersion, appVersion }
}

function ios(id: string, deviceModel: string, systemVersion: string): DevicePreset {
  return { id, platform: 'ios', officialApiId: 10840, langPack: 'ios', deviceModel, systemVersion, appVersion: '11.5' }
}

/**
 * How a farm picks identities for accounts that have none yet: one preset for all, a weighted mix of platforms
 * (each account gets one preset of its platform), or the library defaults (warned about).
 */
export type IdentityChoice =
  | { kind: 'preset'; preset: DevicePreset }
  | { kind: 'mix'; weights: readonly { platform: DevicePlatform; weight: number }[] }
  | { kind: 'library' }

export const DEFAULT_IDENTITY_CHOICE = 'mix'

export class IdentityChoiceError extends RangeError {
  override readonly name = 'IdentityChoiceError'
}

/**
 * Reads a choice as config and CLI flags spell it: `mix` (every platform alike), `mix:windows=2,android=1,ios=1`,
 * `desktop` / `<platform>` (only that platform; desktop = windows, macos and linux), `preset:<id>`, `library`.
 */
export function parseIdentityChoice(text: string): IdentityChoice {
  const t = text.trim()
  if (t === 'library') return { kind: 'library' }
  if (t.startsWith('preset:')) {
    const preset = DEVICE_PRESETS.find((p) => p.id === t.slice('preset:'.length))
    if (!preset)
      throw new IdentityChoiceError(`identity ${t}: no such preset (${DEVICE_PRESETS.map((p) => p.id).join(', ')})`)
    return { kind: 'preset', preset }
  }
  if (t === 'mix') return { kind: 'mix', weights: DEVICE_PLATFORMS.map((platform) => ({ platform, weight: 1 })) }
  if (t === 'desktop') return { kind: 'mix', weights: ['windows', 'macos', 'linux'].map(weighted(1)) }
  if ((DEVICE_PLATFORMS as readonly string[]).includes(t))
    return { kind: 'mix', weights: [{ platform: t as DevicePlatform, weight: 1 }] }
  if (t.startsWith('mix:')) {
    const weights = t
      .slice(4)
      .split(',')
      .map((part) => {
        const m = /^\s*(\w+)\s*=\s*(\d+(?:\.\d+)?)\s*$/.exec(part)
        if (!m || !(DEVICE_PLATFORMS as readonly string[]).includes(m[1]))
          throw new IdentityChoiceError(
            `identity ${t}: expected <platform>=<weight>, platforms ${DEVICE_PLATFORMS.join(', ')}`,
          )
        return { platform: m[1] as DevicePlatform, weight: Number(m[2]) }
      })
      .filter((w) => w.weight > 0)
    if (weights.length === 0) throw new IdentityChoiceError(`identity ${t}: every weight is 0`)
    return { kind: 'mix', weights }
  }
  throw new IdentityChoiceError(
    `identity ${t}: expected mix, mix:<platform>=<weight>,…, desktop, ${DEVICE_PLATFORMS.join(', ')}, preset:<id> or library`,
  )
}

function weighted(weight: number): (platform: string) => { platform: DevicePlatform; weight: number } {
  return (platform) => ({ platform: platform as DevicePlatform, weight })
}

/** A number in [0, 1) fixed by the account's key and a salt. */
function unitOf(accountKey: string, salt: string): number {
  return createHash('sha256').update(`${salt}\0${accountKey}`).digest().readUInt32BE(0) / 2 ** 32
}

/** The preset an account gets under `choice` (null for `library`); the same key always gets the same preset. */
export function presetFor(accountKey: string, choice: IdentityChoice): DevicePreset | null {
  if (choice.kind === 'library') return null
  if (choice.kind === 'preset') return choice.preset
  const total = choice.weights.reduce((s, w) => s + w.weight, 0)
  let at = unitOf(accountKey, 'platform') * total
  const platform = choice.weights.find((w) => (at -= w.weight) < 0)?.platform ?? choice.weights.at(-1)!.platform
  const candidates = DEVICE_PRESETS.filter((p) => p.platform === platform)
  return candidates[Math.floor(unitOf(accountKey, 'preset') * candidates.length)]!
}

/** The preset as an identity for an account connecting with `apiId`. */
export function identityOf(
  preset: DevicePreset,
  apiId: number,
  lang = { langCode: 'en', systemLangCode: 'en-US' },
): DeviceIdentity {
  return {
    deviceModel: preset.deviceModel,
    systemVersion: preset.systemVersion,
    appVersion: preset.appVersion,
    langCode: lang.langCode,
    systemLangCode: lang.systemLangCode,
    // Only an official app may name its language pack; Telegram refuses it from other api_ids.
    langPack: apiId === preset.officialApiId ? preset.langPack : '',
  }
}

/** Where an account's identity came from. */
export type IdentitySource = 'session' | 'accounts-file' | 'preset' | 'library'

/** Fields the operator set for the account (accounts file, sidecar); they win over the preset's. */
export type IdentityOverrides = Partial<DeviceIdentity>

/**
 * The identity an account connects with: the one saved with its session (always reused), else a preset chosen
 * under `choice` with the operator's fields over it, else the library defaults (source 'library': warn).
 */
export function resolveIdentity(opts: {
  stored: DeviceIdentity | null | undefined
  overrides?: IdentityOverrides
  choice: IdentityChoice
  accountKey: string
  apiId: number
  /** The library's own defaults (the Client's), used only when nothing else gives an identity. */
  libraryDefaults: DeviceIdentity
}): { device: DeviceIdentity; source: IdentitySource } {
  if (opts.stored) return { device: opts.stored, source: 'session' }
  const given = Object.fromEntries(
    Object.entries(opts.overrides ?? {}).filter(([, v]) => v !== undefined),
  ) as IdentityOverrides
  const preset = presetFor(opts.accountKey, opts.choice)
  if (preset) {
    const device = { ...identityOf(preset, opts.apiId), ...given }
    return { device, source: Object.keys(given).length > 0 ? 'accounts-file' : 'preset' }
  }
  if (given.deviceModel !== undefined && given.appVersion !== undefined)
    return { device: { ...opts.libraryDefaults, ...given }, source: 'accounts-file' }
  return { device: { ...opts.libraryDefaults, ...given }, source: 'library' }
}

/** True when the identity still shows the library's defaults (device_model "gramfarm" or app_version "0.1.0"). */
export function isLibraryDefault(device: Pick<DeviceIdentity, 'deviceModel' | 'appVersion'>): boolean {
  return (
    device.deviceModel === LIBRARY_DEFAULT_DEVICE.deviceModel || device.appVersion === LIBRARY_DEFAULT_DEVICE.appVersion
  )
}

/** Says once per account that it connects with the library defaults (a farm's log, not an error). */
export class DefaultIdentityWarnings {
  private readonly warned = new Set<string>()
  constructor(private readonly warn: (accountKey: string) => void) {}

  note(accountKey: string, device: Pick<DeviceIdentity, 'deviceModel' | 'appVersion'>): void {
    if (!isLibraryDefault(device) || this.warned.has(accountKey)) return
    this.warned.add(accountKey)
    this.warn(accountKey)
  }
}
