import ArgoCDLink
import Foundation
import GitOps
import Hummingbird

/// `?wait=ready&timeout=SECONDS` on the reads that carry an Argo CD status.
struct StatusQuery {
    /// Nil: answer at once.
    var wait: Duration?

    static let defaultTimeout = 60
    static let maxTimeout = 600

    init(_ request: Request, link: ArgoCDLink?) throws {
        let parameters = request.uri.queryParameters
        // `timeout` is checked whenever given, and read only with `wait=ready`.
        var seconds = Self.defaultTimeout
        if let text = parameters.get("timeout") {
            guard let value = Int(text), (1...Self.maxTimeout).contains(value) else {
                throw APIError(.badRequest, code: "invalid_timeout", message: "timeout: must be a whole number of seconds from 1 to \(Self.maxTimeout)")
            }
            seconds = value
        }
        guard let wait = parameters.get("wait").map({ String($0) }) else {
            self.wait = nil
            return
        }
        guard wait == "ready" else {
            throw APIError(.badRequest, code: "invalid_wait", message: "wait: must be ready")
        }
        guard link?.readsStatus == true else {
            throw APIError(.conflict, code: "wait_unavailable", message: "wait: needs argocd.server in Manifestor's config, which names no Argo CD")
        }
        self.wait = .seconds(seconds)
    }
}
