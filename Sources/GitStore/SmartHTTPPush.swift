import CLibGit2
import Foundation


/// Which way `pushBranch` sends a push, from `MANIFESTOR_PUSH` (for comparisons, or as an escape
/// hatch): unset or anything else: `automatic`; `libgit2`: always `git_remote_push`;
/// `packbuilder`: the smart-HTTP path with a pack built by libgit2's `git_packbuilder` instead of
/// the thin pack.
public enum PushPath: String, Sendable {
    case automatic
    case packbuilder
    case libgit2

    public static let configured: PushPath =
        PushPath(rawValue: ProcessInfo.processInfo.environment["MANIFESTOR_PUSH"]?.lowercased() ?? "") ?? .automatic
}

extension Repository {
    /// Moves `refs/heads/<branch>` on the remote from `expected` (our last known remote tip; nil:
    /// the branch does not exist yet) to `commit`, never forced. A remote whose branch is not at
    /// `expected`, or that refuses the update, throws `.refused`.
    ///
    /// For plain `http://` remotes the push is a compare-and-swap spoken directly in git's smart
    /// HTTP protocol, with a thin pack of exactly the objects the new commits created (see
    /// `ThinPackWriter`): its cost grows with the change, not with the repository. Every other
    /// case goes through libgit2's `git_remote_push` (`push(_:refspecs:)`): file://, ssh://, a
    /// branch that does not exist yet, a history that is not a line of one-parent commits, and
    /// https:// (this client speaks plain HTTP only; FoundationNetworking on Linux has no way to
    /// trust a private CA file for one request, and libgit2 does).
    public func pushBranch(_ remote: RemoteOptions, branch: String, commit: ObjectID, expected: ObjectID?,
                           path: PushPath = .configured) throws {
        if let expected, let prepared = try preparePush(remote, branch: branch, commit: commit, expected: expected, path: path),
           try prepared.send() {
            return
        }
        try self.push(remote, refspecs: ["\(commit.hex):refs/heads/\(branch)"],
                      expectedRemote: ["refs/heads/\(branch)": expected])
    }

    /// The smart-HTTP push of `expected..commit` with its pack built, ready to `send()` from any
    /// thread (it holds no reference to the repository), or nil when this push goes through
    /// libgit2 (`pushBranch` says when).
    public func preparePush(_ remote: RemoteOptions, branch: String, commit: ObjectID, expected: ObjectID,
                            path: PushPath = .configured) throws -> PreparedPush? {
        guard path != .libgit2, let push = SmartHTTPPush(remote: remote) else { return nil }
        let built = path == .packbuilder
            ? try packNewObjects(tip: commit, base: expected)
            : try ThinPackWriter(repository: self).pack(tip: commit, base: expected)
        guard let pack = built else { return nil }
        return PreparedPush(push: push, branch: branch, commit: commit, expected: expected, pack: pack.data)
    }
}

/// A push over smart HTTP whose pack is built: what is left is network only.
public struct PreparedPush: Sendable {
    let push: SmartHTTPPush
    public let branch: String
    public let commit: ObjectID
    public let expected: ObjectID
    let pack: Data

    /// Moves the remote branch from `expected` to `commit` (compare-and-swap). Returns false,
    /// having sent nothing, when the server is better left to libgit2 (a redirect, no smart
    /// HTTP with report-status); throws `.refused` when the branch is not at `expected` or the
    /// server refuses the update.
    public func send() throws -> Bool {
        try push.send(branch: branch, commit: commit, expected: expected, pack: pack)
    }
}

/// git's smart HTTP receive-pack protocol, client side, for one ref update:
/// `GET <url>/info/refs?service=git-receive-pack` (the advertised refs and capabilities), then
/// `POST <url>/git-receive-pack` with `<old> <new> <ref>\0report-status`, a flush and the pack,
/// answered by a report-status (`unpack ok`, `ok <ref>` or `ng <ref> <reason>`).
struct SmartHTTPPush: Sendable {
    let remote: RemoteOptions
    let client: PlainHTTPClient
    /// The repository's path on the server, without a trailing slash.
    let path: String
    let authorization: String?
    /// What errors name: `push`, or the operation that only reads the advertisement.
    let operation: String

    /// nil unless `remote` is a plain http:// URL.
    init?(remote: RemoteOptions, operation: String = "push") {
        guard remote.url.lowercased().hasPrefix("http://"), let components = URLComponents(string: remote.url),
              let host = components.host, !host.isEmpty, components.query == nil
        else { return nil }
        let urlUser = components.user.flatMap { $0.isEmpty ? nil : $0 }
        let urlPassword = components.password
        var path = components.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        self.remote = remote
        self.path = path
        self.operation = operation
        // Connecting is bounded like libgit2's reachability check; the whole exchange of one
        // request (send, the server's work, the answer) gets more room.
        let seconds = TimeInterval(max(1, remote.timeoutSeconds))
        client = PlainHTTPClient(host: host, port: components.port.map(String.init) ?? "80",
                                 connectTimeout: seconds, timeout: seconds * 4)
        let user: String
        let password: String?
        if let urlPassword, !urlPassword.isEmpty {
            user = urlUser ?? remote.credentials.username ?? "git"
            password = urlPassword
        } else {
            user = urlUser ?? remote.credentials.username ?? "git"
            password = remote.credentials.token
        }
        authorization = password.map { "Basic " + Data("\(user):\($0)".utf8).base64EncodedString() }
    }

    /// The references and capabilities `service` (`git-receive-pack` or `git-upload-pack`)
    /// advertises: one round trip. nil when the server is better left to libgit2 (a redirect,
    /// an answer that is not smart HTTP).
    func advertisement(service: String) throws -> Advertisement? {
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

    /// Sends `pack` and moves `refs/heads/<branch>` from `expected` to `commit` (see `PreparedPush.send`).
    func send(branch: String, commit: ObjectID, expected: ObjectID, pack: Data) throws -> Bool {
        let reference = "refs/heads/\(branch)"
        // 1. What the remote has.
        guard let advertised = try advertisement(service: "git-receive-pack"),
              advertised.capabilities.contains("report-status")
        else { return false }
        let remoteTip = advertised.references[reference]
        guard remoteTip == expected else {
            throw GitError(kind: .refused,
                           message: "\(reference) is at \(remoteTip?.hex ?? "nothing") on the remote, not at \(expected.hex) (fetch first)",
                           operation: operation)
        }
        // 2. The compare-and-swap and exactly the objects the new commits created.
        var body = Data()
        body.append(PacketLine.encode("\(expected.hex) \(commit.hex) \(reference)\0report-status\n"))
        body.append(PacketLine.flush)
        body.append(pack)
        let (answer, answerType) = try request("POST", "git-receive-pack", body: body,
                                               contentType: "application/x-git-receive-pack-request")
        guard answerType == "application/x-git-receive-pack-result" else {
            throw GitError(kind: .other, message: "unexpected answer (\(answerType ?? "no content type")) to a push to \(remote.redactedURL)",
                           operation: operation)
        }
        try ReportStatus(parsing: answer).check(reference: reference, operation: operation, secrets: remote.secrets)
        return true
    }

    /// One HTTP exchange; returns the body and its content type, or throws the push's `GitError`.
    private func request(_ method: String, _ target: String, body: Data?, contentType: String?) throws -> (Data, String?) {
        var headers = [("User-Agent", "git/2.0 (manifestor)"), ("Accept-Encoding", "identity")]
        if let authorization { headers.append(("Authorization", authorization)) }
        if let contentType {
            headers.append(("Content-Type", contentType))
            headers.append(("Accept", "application/x-git-receive-pack-result"))
        }
        let response: PlainHTTPClient.Response
        do {
            response = try client.send(method: method, target: "\(path)/\(target)", headers: headers, body: body)
        } catch {
            let message = redactingCredentials(in: "\(method) \(remote.redactedURL): \(error)", secrets: remote.secrets)
            throw GitError(kind: .unreachable, message: message, operation: operation)
        }
        switch response.status {
        case 200..<300:
            return (response.body, response.headers["content-type"]?
                .split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() })
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

// MARK: - pkt-lines

enum PacketLine {
    static let flush = Data("0000".utf8)

    static func encode(_ text: String) -> Data {
        let payload = Data(text.utf8)
        var line = Data(String(format: "%04x", payload.count + 4).utf8)
        line.append(payload)
        return line
    }

    /// The packets of `data`: a payload, or nil for a flush (`0000`) or delimiter packet.
    static func decode(_ data: Data) throws -> [Data?] {
        var packets: [Data?] = []
        var index = data.startIndex
        while index < data.endIndex {
            guard data.endIndex - index >= 4, let length = Int(String(decoding: data[index..<index + 4], as: UTF8.self), radix: 16)
            else { throw PacketLineError() }
            if length < 4 {
                packets.append(nil)
                index += 4
                continue
            }
            guard data.endIndex - index >= length else { throw PacketLineError() }
            packets.append(Data(data[index + 4..<index + length]))
            index += length
        }
        return packets
    }
}

struct PacketLineError: Error {}

/// The answer to `GET info/refs?service=git-receive-pack`.
struct Advertisement {
    var references: [String: ObjectID] = [:]
    var capabilities: Set<String> = []

    init(parsing data: Data) throws {
        var first = true
        for packet in try PacketLine.decode(data) {
            guard var line = packet.map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            if line.hasSuffix("\n") { line.removeLast() }
            if line.hasPrefix("# service=") || line.hasPrefix("version ") { continue }
            var refPart = Substring(line)
            if let nul = line.firstIndex(of: "\0") {
                refPart = line[..<nul]
                if first {
                    capabilities = Set(line[line.index(after: nul)...].split(separator: " ").map(String.init))
                }
            }
            first = false
            let fields = refPart.split(separator: " ", maxSplits: 1)
            guard fields.count == 2, let id = ObjectID(hex: String(fields[0])) else { throw PacketLineError() }
            let name = String(fields[1])
            if name != "capabilities^{}" { references[name] = id }
        }
    }
}

/// The answer to the POST: `unpack ok|<error>`, then `ok <ref>` or `ng <ref> <reason>` per ref.
struct ReportStatus {
    var unpack: String?
    var results: [String: String?] = [:]  // ref -> nil (ok) or the reason it was refused

    init(parsing data: Data) throws {
        for packet in try PacketLine.decode(data) {
            guard var line = packet.map({ String(decoding: $0, as: UTF8.self) }) else { continue }
            if line.hasSuffix("\n") { line.removeLast() }
            if line.hasPrefix("unpack ") {
                unpack = String(line.dropFirst("unpack ".count))
            } else if line.hasPrefix("ok ") {
                results[String(line.dropFirst(3))] = .some(nil)
            } else if line.hasPrefix("ng ") {
                let rest = line.dropFirst(3)
                let space = rest.firstIndex(of: " ") ?? rest.endIndex
                let reason = space < rest.endIndex ? String(rest[rest.index(after: space)...]) : "refused"
                results[String(rest[..<space])] = .some(reason)
            }
        }
    }

    func check(reference: String, operation: String, secrets: [String]) throws {
        guard let unpack else {
            throw GitError(kind: .other, message: "the remote sent no report for the push", operation: operation)
        }
        guard unpack == "ok" else {
            throw GitError(kind: .other, message: redactingCredentials(in: "the remote could not unpack the push: \(unpack)", secrets: secrets),
                           operation: operation)
        }
        switch results[reference] {
        case .some(.none):
            return
        case .some(.some(let reason)):
            throw GitError(kind: .refused, message: redactingCredentials(in: "\(reference): \(reason)", secrets: secrets),
                           operation: operation)
        case .none:
            throw GitError(kind: .other, message: "the remote did not report on \(reference)", operation: operation)
        }
    }
}
