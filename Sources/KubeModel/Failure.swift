/// What kind of failure an error is, read by every surface alike: the HTTP status the API
/// answers, the CLI's exit status, and whether trying again later can help.
public enum FailureKind: Sendable, Equatable, Hashable, CaseIterable {
    /// The request is malformed (400).
    case invalid
    /// Well-formed, but not something that can be done as asked (422).
    case unprocessable
    /// What the request names does not exist (404).
    case notFound
    /// The state moved under the request (409).
    case conflict
    /// git or the registry could not be reached or kept refusing (503 with `Retry-After`).
    case unavailable
    /// A fault of Manifestor's own (500).
    case `internal`

    public var httpStatus: Int {
        switch self {
        case .invalid: 400
        case .unprocessable: 422
        case .notFound: 404
        case .conflict: 409
        case .unavailable: 503
        case .internal: 500
        }
    }

    /// 2 when git or the registry could not be reached, 1 for what the caller must fix.
    public var exitStatus: Int32 { self == .unavailable ? 2 : 1 }

    public var isRetryable: Bool { self == .unavailable }

    /// The kind's name in metrics and logs: `invalid`, `not_found`, `unavailable`, ...
    public var label: String {
        switch self {
        case .invalid: "invalid"
        case .unprocessable: "unprocessable"
        case .notFound: "not_found"
        case .conflict: "conflict"
        case .unavailable: "unavailable"
        case .internal: "internal"
        }
    }
}

/// An error every surface can answer without knowing where it came from.
public protocol DomainError: Error, Sendable, CustomStringConvertible {
    /// A stable, machine-readable code such as `invalid_task_id`.
    var code: String { get }
    var kind: FailureKind { get }
    /// One line for people.
    var message: String { get }
    /// How long a retry should wait, for `.unavailable`.
    var retryAfterSeconds: Int? { get }
}

extension DomainError {
    public var retryAfterSeconds: Int? { kind.isRetryable ? 5 : nil }
    public var description: String { message }
}
