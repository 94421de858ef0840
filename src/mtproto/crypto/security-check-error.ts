// The one error type for a failed protocol security check (docs/protocol.md#security-checks). The `check` field says which
// check failed, for logs and tests; what goes back to the peer must not depend on it.
import { MtprotoError } from '../mtproto-error.ts'

export type SecurityCheck =
  | 'dh_prime_size'
  | 'dh_prime_not_safe'
  | 'dh_g_range'
  | 'dh_g_residue'
  | 'dh_value_range'
  | 'answer_length'
  | 'answer_padding'
  | 'answer_hash'
  | 'rsa_input_range'
  | 'rsa_data_length'
  | 'rsa_pad_hash'
  | 'rsa_old_hash'
  | 'pq_factorization'
  | 'srp_b_length'
  | 'srp_b_range'

export class SecurityCheckError extends MtprotoError {
  override readonly name = 'SecurityCheckError'

  constructor(
    readonly check: SecurityCheck,
    message?: string,
  ) {
    super(message === undefined ? `security check failed: ${check}` : `security check failed: ${check}: ${message}`)
  }
}
