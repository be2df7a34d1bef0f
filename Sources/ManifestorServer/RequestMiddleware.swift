import Foundation
import GitOps
import HTTPTypes
import Hummingbird
import Logging

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
}

/// The outermost middleware: gives every request an id (a sane incoming `X-Request-Id`, else a
/// new one), puts it on the request's logger and in `RequestID.current` for the committer, answers
/// it on every response, errors included, and writes one line per request.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ManifestorContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let incoming = request.headers[.requestID]
        let id = incoming.flatMap { RequestID.isSane($0) ? $0 : nil } ?? RequestID.generate()
        var context = context
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await RequestID.$current.withValue(id) { try await next(request, context) }
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            response = try APIError.from(error).response(from: request, context: context)
        }
        response.headers[.requestID] = id
        let elapsed = ContinuousClock.now - start
        let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info("request", metadata: [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "route": "\(context.endpointPath ?? "unknown")",
            "status": "\(response.status.code)", "duration_ms": "\(String(format: "%.1f", ms))",
        ])
        return response
    }
}

/// The method/path pairs the router serves, filled in once every route is registered.
final class RouteTable: @unchecked Sendable {
    private let lock = NSLock()
    private var routes: [(method: String, components: [Substring])] = []

    func set(_ routes: [(method: String, path: String)]) {
        lock.withLock { self.routes = routes.map { ($0.method, $0.path.split(separator: "/")) } }
    }

    /// The methods some route serves at `path`, sorted (empty: no route has that path).
    func methods(at path: String) -> [String] {
        let parts = path.split(separator: "/")
        let methods = lock.withLock {
            routes.filter { route in
                route.components.count == parts.count
                    && zip(route.components, parts).allSatisfy { pattern, part in pattern.hasPrefix("{") || pattern == part }
            }.map { $0.method }
        }
        return Set(methods).sorted()
    }
}

/// A path that the router knows, asked with a method it does not serve there: 405 with `Allow`,
/// where Hummingbird alone answers 404.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = ManifestorContext
    let routes: RouteTable

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError where error.status == .notFound && context.endpointPath == "NotFound" {
            let allowed = routes.methods(at: request.uri.path)
            guard !allowed.isEmpty else { throw error }
            throw APIError(.methodNotAllowed, code: "method_not_allowed",
                           message: "\(request.method.rawValue) is not served at \(request.uri.path) (allowed: \(allowed.joined(separator: ", ")))",
                           allow: allowed.joined(separator: ", "))
        }
    }
}
