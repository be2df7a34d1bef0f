import Foundation
import GitOps
import GitStore
import HTTPTypes
import Hummingbird
import KubeModel

/// Every error the API answers: a status and `{"error": {"code", "message"}}`.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var retryAfterSeconds: Int?

    public init(_ status: HTTPResponse.Status, code: String, message: String, retryAfterSeconds: Int? = nil) {
        self.status = status; self.code = code; self.message = message; self.retryAfterSeconds = retryAfterSeconds
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(ErrorBody(error: .init(code: code, message: message)))
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    static let unauthorized = APIError(.unauthorized, code: "unauthorized", message: "a valid bearer token is required (Authorization: Bearer <token>)")

    static func forbidden(_ caller: Caller, needs role: Role) -> APIError {
        APIError(.forbidden, code: "forbidden", message: "\(caller.name) has role \(caller.role.rawValue); this needs \(role.rawValue)")
    }

    /// Maps whatever a handler threw to an answer; nothing the caller caused becomes a 500.
    static func from(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as InputError:
            let status: HTTPResponse.Status = e.code == "registry_tag_not_found" ? .unprocessableContent
                : (["unknown_service", "missing_image", "image_not_pinned", "invalid_image", "registry_tag_not_found",
                   "service_not_in_source", "rollback_target_untouched", "rollback_target_empty", "no_previous_state"].contains(e.code) ? .unprocessableContent : .badRequest)
            return APIError(status, code: e.code, message: e.description)
        case let e as NotFoundError: return APIError(.notFound, code: e.code, message: e.message)
        case let e as UnavailableError: return APIError(.serviceUnavailable, code: "unavailable", message: e.message, retryAfterSeconds: e.retryAfterSeconds)
        case let e as GitError:
            switch e.kind {
            case .unreachable, .locked, .refused, .authentication, .certificate:
                return APIError(.serviceUnavailable, code: "git_unavailable", message: "git remote: \(e.message)", retryAfterSeconds: 5)
            case .invalidInput:
                return APIError(.badRequest, code: "invalid_input", message: e.message)
            default:
                return APIError(.internalServerError, code: "internal", message: "git: \(e.message)")
            }
        case let e as HTTPError where e.status == .contentTooLarge:
            return APIError(.contentTooLarge, code: "body_too_large", message: "the request body is over the limit")
        case let e as any HTTPResponseError:
            return APIError(e.status, code: "http_\(e.status.code)", message: e.status.reasonPhrase)
        default:
            return APIError(.internalServerError, code: "internal", message: "internal error")
        }
    }
}

struct ErrorBody: Codable {
    struct Inner: Codable { var code: String; var message: String }
    var error: Inner
}
