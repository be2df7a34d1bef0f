import Crypto
import Foundation
import GitOps
import GitWire

/// The GitHub-format push event the ApplicationSet controller's webhook takes (Argo CD's
/// `applicationset/webhook/webhook.go` reads `ref`, `repository.html_url` and
/// `repository.default_branch` to find the git generators to re-run): one event per delivery,
/// naming the tip before and after and the files the pushes changed.
struct PushEvent: Encodable, Sendable {
    struct Repository: Encodable, Sendable {
        var name: String
        var full_name: String
        var html_url: String
        var clone_url: String
        var default_branch: String
    }
    struct Commit: Encodable, Sendable {
        var id: String
        var message: String
        var added: [String]
        var modified: [String]
        var removed: [String]
    }
    var ref: String
    var before: String
    var after: String
    var created: Bool
    var deleted: Bool
    var forced: Bool
    var repository: Repository
    var commits: [Commit]
    var head_commit: Commit?

    /// The event of `push` to the repository at `repositoryURL` (credentials are dropped).
    init(_ push: LandedPush, repositoryURL: String) {
        let clone = Self.withoutCredentials(repositoryURL)
        let html = clone.hasSuffix(".git") ? String(clone.dropLast(4)) : clone
        let path = URL(string: html)?.path ?? html
        let parts = path.split(separator: "/").suffix(2)
        let commit = Commit(id: push.after.hex, message: "manifestor: \(push.paths.count) files", added: push.added,
                            modified: push.modified, removed: push.removed)
        ref = "refs/heads/\(push.branch)"
        before = push.before?.hex ?? String(repeating: "0", count: 40)
        after = push.after.hex
        created = push.before == nil
        deleted = false
        forced = false
        repository = Repository(name: String(parts.last ?? "gitops"), full_name: parts.joined(separator: "/"), html_url: html,
                                clone_url: clone, default_branch: push.branch)
        commits = [commit]
        head_commit = commit
    }

    func body() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// `sha256=<hex HMAC-SHA256 of body>`, GitHub's `X-Hub-Signature-256`.
    static func signature(of body: Data, secret: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: body, using: SymmetricKey(data: Data(secret.utf8)))
        return "sha256=" + mac.map { String(format: "%02x", $0) }.joined()
    }

    /// `url` without a `user:password@` part.
    static func withoutCredentials(_ url: String) -> String {
        guard var parts = URLComponents(string: url), parts.user != nil || parts.password != nil else { return url }
        parts.user = nil; parts.password = nil
        return parts.string ?? url
    }
}
