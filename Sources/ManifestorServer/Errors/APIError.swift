import Foundation
import GitOps
import HTTPTypes
import Hummingbird
import KubeModel

/// Every error the API answers: a status and `{"error": {"code", "message"}}`.
public struct APIError: HTTPResponseError, Sendable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    public var retryAfterSeconds: Int?
    /// The `Allow` header of a 405.
    public var allow: String?

    public init(_ status: HTTPResponse.Status, code: String, message: String, retryAfterSeconds: Int? = nil, allow: String? = nil) {
        self.status = status; self.code = code; self.message = message; self.retryAfterSeconds = retryAfterSeconds; self.allow = allow
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(ErrorBody(error: .init(code: code, message: message)))
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if let allow { headers[.allow] = allow }
        // RFC 9110: a 401 names the scheme the caller must use.
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer" }
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
        case let e as any DomainError:
            return APIError(HTTPResponse.Status(code: e.kind.httpStatus), code: e.code, message: e.message,
                            retryAfterSeconds: e.retryAfterSeconds)
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
