// The closed set of error codes every 4xx and 503 carries. src/api/errors.ts maps them to HTTP in one place.

export const ERROR_STATUS = {
  bad_request: 400,
  bad_json: 400,
  bad_digest: 400,
  bad_envelope: 400,
  bad_claim: 400,
  bad_evidence: 400,
  bad_query: 400,
  wrong_payload_type: 400,
  payload_too_large: 413,
  body_too_large: 413,
  blob_too_large: 413,
  evidence_too_large: 413,
  unsupported_media_type: 415,
  bad_signature: 401,
  submitter_mismatch: 401,
  // The submitter's intake envelope (src/attest/intake.ts) is missing, malformed, or not signed by the submitter.
  bad_intake: 401,
  unauthorized: 401,
  forbidden: 403,
  submitter_banned: 403,
  not_found: 404,
  unknown_task: 404,
  unknown_claim: 404,
  unknown_verifier_key: 404,
  unknown_blob: 422,
  digest_mismatch: 422,
  metric_mismatch: 422,
  // The intake names another claim, or other evidence than the request carries.
  intake_mismatch: 422,
  // The intake was signed for another deployment's log.
  wrong_audience: 422,
  // The claim's bundle and lineage (src/service/judging/bundle-lineage.ts): not a readable git bundle; over the
  // reader's caps (objects, inflated bytes, delta depth); needs commits it does not hold; does not hold the commit.
  bundle_not_git: 422,
  bundle_over_limits: 422,
  bundle_incomplete: 422,
  bundle_missing_commit: 422,
  // The named parent is no stored, not rejected claim's commit in this task; or not an ancestor of the commit.
  unknown_parent: 422,
  parent_not_ancestor: 422,
  // A beats-parent claim the task's policy cannot test (one run per claim, or no parent named).
  beats_parent_untestable: 422,
  bad_attestation: 422,
  // A task definition or pack with problems (details.problems lists every one: { path, message }).
  bad_task: 422,
  conflict: 409,
  task_exists: 409,
  // The same claim is already stored with other evidence: a claim is judged once, on what first came with it.
  claim_evidence_differs: 409,
  verifier_key_exists: 409,
  rate_limited: 429,
  pending_limit: 429,
  stamp_required: 428,
  bad_stamp: 422,
  unavailable: 503,
  // The database cannot be reached now (restart, failover, network): retry after Retry-After.
  database_unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/** A refusal the caller can act on (bad input, missing thing, no permission). Never used for faults. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}
