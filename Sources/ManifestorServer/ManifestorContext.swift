import Foundation
import GitOps
import Hummingbird
import Logging

/// The request context: Hummingbird's core plus the authenticated caller.
public struct ManifestorContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var caller: Caller?
    /// The request's id (`X-Request-Id`), set by `RequestIDMiddleware`.
    public var requestID: String?

    public init(source: Source) {
        coreContext = .init(source: source)
        caller = nil
        requestID = nil
    }

    /// Bodies are read with our own limit (`Server.maxBodyBytes`); this one is the outer bound.
    public var maxUploadSize: Int { 16 * 1024 * 1024 }

    /// Throws 401 or 403 unless the caller holds at least `role`.
    func require(_ role: Role) throws -> Caller {
        guard let caller else { throw APIError.unauthorized }
        guard caller.role >= role else { throw APIError.forbidden(caller, needs: role) }
        return caller
    }
}

/// Reads the bearer token into the context, and turns every error into the JSON error body.
struct AuthAndErrorMiddleware: RouterMiddleware {
    typealias Context = ManifestorContext
    let tokens: TokenStore

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" {
                context.caller = tokens.authenticate(token: String(parts[1]).trimmingCharacters(in: .whitespaces))
            }
        }
        do {
            return try await next(request, context)
        } catch {
            let api = APIError.from(error)
            if api.status.code >= 500 {
                context.logger.error("request failed", metadata: ["status": "\(api.status.code)", "error": "\(api.message)"])
            }
            throw api
        }
    }
}

extension ManifestorContext {
    /// The path parameter `name`, checked by `validate` (which throws the 400 naming the rule).
    func parameter(_ name: String, _ validate: (String) throws -> Void) throws -> String {
        let value = parameters.get(name) ?? ""
        try validate(value)
        return value
    }
}

extension Request {
    /// Decodes a JSON object strictly: the body must be at most `limit` bytes, valid JSON, an
    /// object, and name only the keys `T` knows.
    func decodeStrict<T: Decodable>(_ type: T.Type, allowedKeys: Set<String>, limit: Int, context: ManifestorContext) async throws -> T {
        let data = try await jsonObject(allowedKeys: allowedKeys, limit: limit)
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError(.badRequest, code: "invalid_field", message: Self.describe(error))
        }
    }

    /// The body, checked to be at most `limit` bytes of a JSON object naming only `allowedKeys`
    /// at its top level.
    func jsonObject(allowedKeys: Set<String>, limit: Int) async throws -> Data {
        var request = self
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, code: "body_too_large", message: "the request body is over \(limit) bytes")
        }
        let data = Data(buffer.readableBytesView)
        guard let object = (try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed])) else {
            throw APIError(.badRequest, code: "invalid_json", message: "body: must be a JSON object")
        }
        guard let dictionary = object as? [String: Any] else {
            throw APIError(.badRequest, code: "invalid_json", message: "body: must be a JSON object")
        }
        for key in dictionary.keys.sorted() where !allowedKeys.contains(key) {
            throw APIError(.badRequest, code: "unknown_field", message: "\(key): unknown field (allowed: \(allowedKeys.sorted().joined(separator: ", ")))")
        }
        // A field given as null is not a field left out: the spec types every field, so say so.
        for key in dictionary.keys.sorted() where dictionary[key] is NSNull {
            throw APIError(.badRequest, code: "invalid_field", message: "\(key): must not be null (leave the field out instead)")
        }
        return data
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ p: [any CodingKey]) -> String { p.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".") }
        switch error {
        case let .keyNotFound(key, c): return "\(path(c.codingPath + [key])): is required"
        case let .typeMismatch(_, c): return "\(path(c.codingPath)): has the wrong type"
        case let .valueNotFound(_, c): return "\(path(c.codingPath)): must not be null"
        case let .dataCorrupted(c): return "\(path(c.codingPath)): is malformed"
        @unknown default: return "body: cannot be decoded"
        }
    }
}

/// Encodes answers as JSON with sorted keys.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
    let data = try encodeAnswer(value)
    return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
}
