import Foundation
import GitWire
import KubeModel

/// Something the request names does not exist (404).
public struct NotFoundError: DomainError {
    public var code: String
    public var message: String
    public var kind: FailureKind { .notFound }

    public init(code: String, message: String) { self.code = code; self.message = message }
}

/// The remote (or the registry) could not be reached or kept refusing: worth retrying later (503).
public struct UnavailableError: DomainError {
    public var message: String
    public var retryAfterSeconds: Int?
    public var code: String
    public var kind: FailureKind { .unavailable }

    public init(message: String, retryAfterSeconds: Int, code: String = "unavailable") {
        self.message = message; self.retryAfterSeconds = retryAfterSeconds; self.code = code
    }
}

/// A git failure as the surfaces answer it.
struct GitFailure: DomainError {
    var code: String
    var kind: FailureKind
    var message: String
}

/// The domain error for whatever the git layer threw: a remote that cannot be reached (or is
/// locked) is worth a retry; so is one that refused, rejected the credentials or the
/// certificate (an operator fixes those while clients wait); bad input is the caller's; anything
/// else is Manifestor's own fault.
func availability(of error: Error) -> Error {
    guard let git = error as? GitError else { return error }
    switch git.kind {
    case .unreachable, .locked:
        return UnavailableError(message: "git remote unavailable: \(git.message)", retryAfterSeconds: 5)
    case .refused, .authentication, .certificate:
        return UnavailableError(message: "git remote: \(git.message)", retryAfterSeconds: 5, code: "git_unavailable")
    case .invalidInput:
        return GitFailure(code: "invalid_input", kind: .invalid, message: git.message)
    case .notFound, .other:
        return GitFailure(code: "internal", kind: .internal, message: "git: \(git.message)")
    }
}

/// The state moved under the request, or forbids it now (409).
public struct ConflictError: DomainError {
    public var code: String
    public var message: String
    public var kind: FailureKind { .conflict }

    public init(code: String, message: String) { self.code = code; self.message = message }
}
