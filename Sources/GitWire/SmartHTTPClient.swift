import Foundation
import HTTPTransport

/// git's smart HTTP protocol, client side, over http and https on `HTTPClient`: the reference
/// advertisement (`GET <url>/info/refs?service=...`), one ref update by receive-pack
/// (`POST <url>/git-receive-pack` with `<old> <new> <ref>\0report-status`, a flush and the pack,
/// answered by a report-status), and the download of one commit's missing objects by
/// upload-pack (`SmartHTTPClient+Fetch.swift`). Every exchange is bounded: connecting by the
/// remote's `timeoutSeconds`, the whole exchange by a small multiple of it.
package struct SmartHTTPClient: Sendable {
    let remote: RemoteOptions
    /// The repository's URL without credentials or a trailing slash.
    let base: String
    let connectTimeout: TimeInterval
    let timeout: TimeInterval
    let authorization: String?
    /// What errors name: `push`, or the operation that only reads the advertisement.
    let operation: String

    /// nil unless `remote` is an http:// or https:// URL.
    package init?(remote: RemoteOptions, operation: String = "push") {
        let lowered = remote.url.lowercased()
        guard lowered.hasPrefix("http://") || lowered.hasPrefix("https://"), var components = URLComponents(string: remote.url),
              let host = components.host, !host.isEmpty, components.query == nil
        else { return nil }
        let urlUser = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let urlPassword = components.password
        components.user = nil
        components.password = nil
        guard var base = components.string else { return nil }
        while base.hasSuffix("/") { base.removeLast() }
        self.remote = remote
        self.base = base
        self.operation = operation
        // Connecting is bounded by the configured timeout; the whole exchange of one request
        // (send, the server's work, the answer) gets more room.
        let seconds = TimeInterval(max(1, remote.timeoutSeconds))
        connectTimeout = seconds
        timeout = seconds * 4
        let user = urlUser ?? remote.credentials.username ?? "git"
        let password = urlPassword.flatMap { $0.isEmpty ? nil : $0 } ?? remote.credentials.token
        authorization = password.map { "Basic " + Data("\(user):\($0)".utf8).base64EncodedString() }
    }

    /// The references and capabilities `service` (`git-receive-pack` or `git-upload-pack`)
    /// advertises: one round trip. nil when the server is better left to libgit2 (a redirect,
    /// an answer that is not smart HTTP).
    package func advertisement(service: String) throws -> Advertisement? {
        let exchange: (Data, String?)
        do {
            exchange = try request("GET", "info/refs?service=\(service)", body: nil, contentType: nil)
        } catch is Redirected {
            return nil  // libgit2 follows redirects (http -> https, a moved repository)
        }
        let (advertisement, type) = exchange
        guard type == "application/x-\(service)-advertisement" else { return nil }
        return try? Advertisement(parsing: advertisement)
    }

    /// Sends `pack` and moves `refs/heads/<branch>` from `expected` to `commit` (`expected` nil:
    /// creates the branch, which must not exist, unless it already is at `commit`: a review
    /// branch pushed again). Moving a branch is a strict compare-and-swap even when the remote
    /// is already at `commit`: another writer made the same commit, so this one's plan was made
    /// on a stale tip and must be made again. False when the server is better left to libgit2
    /// (see `PendingPush`).
    package func push(branch: String, commit: ObjectID, expected: ObjectID?, pack: Data) throws -> Bool {
        let reference = "refs/heads/\(branch)"
        // 1. What the remote has.
        guard let advertised = try advertisement(service: "git-receive-pack"),
              advertised.capabilities.contains("report-status")
        else { return false }
        let remoteTip = advertised.references[reference]
        if expected == nil, remoteTip == commit { return true }
        guard remoteTip == expected else {
            throw GitError(kind: .refused,
                           message: "\(reference) is at \(remoteTip?.hex ?? "nothing") on the remote, not at \(expected?.hex ?? "nothing") (fetch first)",
                           operation: operation)
        }
        // 2. The compare-and-swap and exactly the objects the new commits created.
        var body = Data()
        let old = expected?.hex ?? String(repeating: "0", count: 40)
        body.append(PacketLine.encode("\(old) \(commit.hex) \(reference)\0report-status\n"))
        body.append(PacketLine.flush)
        body.append(pack)
        let (answer, answerType) = try request("POST", "git-receive-pack", body: body,
                                               contentType: "application/x-git-receive-pack-request",
                                               accept: "application/x-git-receive-pack-result")
        guard answerType == "application/x-git-receive-pack-result" else {
            throw GitError(kind: .other, message: "unexpected answer (\(answerType ?? "no content type")) to a push to \(remote.redactedURL)",
                           operation: operation)
        }
        try ReportStatus(parsing: answer).check(reference: reference, operation: operation, secrets: remote.secrets)
        return true
    }

    /// One HTTP exchange; returns the body and its content type, or throws the push's `GitError`.
    /// `onData` takes the body as it arrives instead (the returned body is then empty).
    func request(_ method: String, _ target: String, body: Data?, contentType: String?, accept: String? = nil,
                 onData: ((UnsafeRawBufferPointer) throws -> Bool)? = nil) throws -> (Data, String?) {
        var headers = [("User-Agent", "git/2.0 (manifestor)"), ("Accept-Encoding", "identity")]
        if let authorization { headers.append(("Authorization", authorization)) }
        if let contentType { headers.append(("Content-Type", contentType)) }
        if let accept { headers.append(("Accept", accept)) }
        var exchange = HTTPRequest(method: method, url: "\(base)/\(target)", headers: headers, body: body, caFile: remote.caFile,
                                   connectTimeout: connectTimeout, timeout: timeout)
        if onData != nil {
            // A download may be large: bounded by its pace rather than by its length.
            exchange.timeout = max(timeout, 3600)
            exchange.lowSpeed = (bytes: 1024, seconds: Int(timeout))
        }
        var collected = Data()
        let response: HTTPResponse
        do {
            response = try HTTPClient.shared.perform(exchange) { chunk in
                if let onData { return try onData(chunk) }
                collected.append(contentsOf: chunk)
                return true
            }
        } catch let failure as HTTPFailure {
            let message = redactingCredentials(in: failure.description, secrets: remote.secrets)
            throw GitError(kind: failure.kind == .certificate ? .certificate : .unreachable, message: message, operation: operation)
        }
        let contentType = response.header("content-type")?
            .split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
        switch response.status {
        case 200..<300:
            return (collected, contentType)
        case 401, 403:
            let message = authorization == nil
                ? "authentication required for \(remote.redactedURL) but no token is configured"
                : "authentication failed for \(remote.redactedURL) (HTTP \(response.status))"
            throw GitError(kind: .authentication, message: message, operation: operation)
        case 404:
            throw GitError(kind: .notFound, message: "repository \(remote.redactedURL) not found (HTTP 404)", operation: operation)
        case 300..<400 where method == "GET":
            throw Redirected()
        case 408, 429, 500...:
            throw GitError(kind: .unreachable, message: "\(remote.redactedURL) answered HTTP \(response.status)", operation: operation)
        default:
            throw GitError(kind: .other, message: "\(remote.redactedURL) answered HTTP \(response.status)", operation: operation)
        }
    }
}

private struct Redirected: Error {}
