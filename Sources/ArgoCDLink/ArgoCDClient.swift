import Foundation
import GitOps
import HTTPTransport

/// Why Argo CD could not answer: unreachable, the token refused, or an unexpected answer. The
/// message never holds the token or the webhook secret.
public struct ArgoCDError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var description: String { message }
}

/// What Manifestor reads of an Argo CD Application (`v1alpha1Application` in Argo CD's
/// swagger, `assets/swagger.json`): its sync, health and last operation.
struct ApplicationDocument: Decodable, Sendable {
    struct Metadata: Decodable, Sendable { var name: String? }
    struct Status: Decodable, Sendable {
        struct Sync: Decodable, Sendable { var status: String?; var revision: String?; var revisions: [String]? }
        struct Health: Decodable, Sendable { var status: String? }
        struct Operation: Decodable, Sendable {
            struct SyncResult: Decodable, Sendable { var revision: String? }
            var phase: String?
            var message: String?
            var syncResult: SyncResult?
        }
        var sync: Sync?
        var health: Health?
        var operationState: Operation?
    }
    var metadata: Metadata?
    var status: Status?

    var syncStatus: String? { status?.sync?.status }
    var revision: String? { status?.sync?.revision ?? status?.sync?.revisions?.first }
    var health: String? { status?.health?.status }
    var operationPhase: String? { status?.operationState?.phase }
    /// The revision the last operation synced (or tried to).
    var operationRevision: String? { status?.operationState?.syncResult?.revision }
    var operationMessage: String? { status?.operationState?.message }
}

/// Argo CD's API server and the ApplicationSet controller's webhook, on `HTTPClient`. Blocking
/// calls run on a queue of their own; the async ones are what the rest uses.
final class ArgoCDClient: Sendable {
    let connection: ArgoCDConnection
    private let http: HTTPClient
    private let queue = DispatchQueue(label: "manifestor.argocd", qos: .utility, attributes: .concurrent)

    init(connection: ArgoCDConnection, http: HTTPClient = .shared) {
        self.connection = connection; self.http = http
    }

    /// `GET {server}/api/v1/applications/{name}` (`refresh=normal` asks Argo CD to compare with
    /// git now). Nil when there is no such Application: Argo CD answers 403 for an Application
    /// that does not exist, so that names do not leak, and 404 in some versions.
    func application(_ name: String, refresh: Bool = false) async throws -> ApplicationDocument? {
        guard let server = connection.server else { throw ArgoCDError(message: "argocd.server is not set") }
        let escaped = name.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._"))) ?? name
        let url = "\(server)/api/v1/applications/\(escaped)\(refresh ? "?refresh=normal" : "")"
        var headers = [("Accept", "application/json")]
        if let token = connection.token { headers.append(("Authorization", "Bearer \(token)")) }
        // A refresh is answered once Argo CD has compared the Application with git: allow longer.
        let response = try await exchange(HTTPRequest(method: "GET", url: url, headers: headers, caFile: connection.caFile,
                                                      connectTimeout: min(connection.timeoutSeconds, 5),
                                                      timeout: connection.timeoutSeconds * (refresh ? 3 : 1)))
        switch response.status {
        case 200:
            do { return try JSONDecoder().decode(ApplicationDocument.self, from: response.body) } catch {
                throw ArgoCDError(message: "Argo CD answered Application \(name) with a body that is not an Application")
            }
        case 401: throw ArgoCDError(message: "Argo CD refused the token (401): check argocd.tokenFile")
        case 403, 404: return nil
        default: throw ArgoCDError(message: "Argo CD answered \(response.status) for Application \(name)")
        }
    }

    /// POSTs a push event to the ApplicationSet controller's webhook.
    func sendPushEvent(_ event: PushEvent) async throws {
        guard let url = connection.applicationSetWebhook else { return }
        let body = try event.body()
        var headers = [("Content-Type", "application/json"), ("X-GitHub-Event", "push"),
                       ("X-GitHub-Delivery", UUID().uuidString.lowercased()), ("User-Agent", "manifestor")]
        if let secret = connection.webhookSecret { headers.append(("X-Hub-Signature-256", PushEvent.signature(of: body, secret: secret))) }
        let response = try await exchange(HTTPRequest(method: "POST", url: url, headers: headers, body: body, caFile: connection.caFile,
                                                      connectTimeout: min(connection.timeoutSeconds, 5), timeout: connection.timeoutSeconds))
        guard (200..<300).contains(response.status) else {
            throw ArgoCDError(message: "the ApplicationSet webhook answered \(response.status)")
        }
    }

    private func exchange(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<HTTPResponse, Error>) in
            queue.async { [http] in
                continuation.resume(with: Result {
                    do { return try http.perform(request) } catch let failure as HTTPFailure {
                        throw ArgoCDError(message: "Argo CD could not be reached: \(failure.description)")
                    }
                })
            }
        }
    }
}
