import CLibGit2
import Foundation
import HTTPTransport
import GitWire

/// State shared with libgit2's remote callbacks through `payload` for one fetch or push.
/// Lives (retained by the caller) for the whole synchronous libgit2 call.
final class RemoteCallContext {
    static let maxCredentialAttempts = 3

    let credentials: Credentials
    let redactedURL: String
    /// libgit2 tries `user:password@` from the URL before asking the callback.
    let urlHasCredentials: Bool
    private(set) var credentialAttempts = 0
    /// Set when the credential callback gave up: the reason to report as `.authentication`.
    private(set) var authenticationFailure: String?
    /// Ref updates the remote refused: (reference, status text from the server).
    private(set) var refusedUpdates: [(reference: String, status: String)] = []

    /// For a push: what each destination ref must hold on the remote right now (nil: must not
    /// exist). A different value makes the push refused before anything is sent.
    var expectedRemote: [String: ObjectID?] = [:]
    /// Set when the remote's current value of a ref differed from `expectedRemote`.
    private(set) var staleExpectation: String?

    init(remote: RemoteOptions) {
        credentials = remote.credentials
        redactedURL = remote.redactedURL
        urlHasCredentials = RemoteEndpoint.userinfo(of: remote.url) != nil
    }

    /// Callbacks with `payload` pointing at `self`; valid while `self` is alive.
    func callbacks(into callbacks: inout git_remote_callbacks) {
        callbacks.payload = Unmanaged.passUnretained(self).toOpaque()
        callbacks.credentials = { out, _, usernameFromURL, allowedTypes, payload in
            guard let out, let payload else { return GIT_PASSTHROUGH.rawValue }
            let context = Unmanaged<RemoteCallContext>.fromOpaque(payload).takeUnretainedValue()
            return context.acquireCredential(
                out, usernameFromURL: usernameFromURL.map { String(cString: $0) }, allowedTypes: allowedTypes)
        }
        if !expectedRemote.isEmpty {
            callbacks.push_negotiation = { updates, count, payload in
                guard let payload, let updates else { return 0 }
                let context = Unmanaged<RemoteCallContext>.fromOpaque(payload).takeUnretainedValue()
                for index in 0..<count {
                    guard let update = updates[index], let name = update.pointee.dst_refname.map({ String(cString: $0) }),
                          let expected = context.expectedRemote[name] else { continue }
                    var current = update.pointee.src
                    let currentID = git_oid_is_zero(&current) == 1 ? nil : ObjectID(current)
                    if currentID != expected {
                        context.staleExpectation = "\(name) is at \(currentID?.short ?? "nothing") on the remote, expected \(expected?.short ?? "nothing")"
                        return GIT_EUSER.rawValue
                    }
                }
                return 0
            }
        }
        callbacks.push_update_reference = { reference, status, payload in
            guard let payload, let status else { return 0 }
            let context = Unmanaged<RemoteCallContext>.fromOpaque(payload).takeUnretainedValue()
            context.refusedUpdates.append(
                (reference.map { String(cString: $0) } ?? "?", String(cString: status)))
            return 0
        }
    }

    /// Over HTTP libgit2 calls this again after every 401 (up to 15 replays): each call hands
    /// libgit2 a new credential it owns; after `maxCredentialAttempts` we stop with GIT_EUSER.
    private func acquireCredential(
        _ out: UnsafeMutablePointer<UnsafeMutablePointer<git_credential>?>,
        usernameFromURL: String?, allowedTypes: UInt32
    ) -> Int32 {
        let username = usernameFromURL.flatMap { $0.isEmpty ? nil : $0 } ?? credentials.username ?? "git"
        if allowedTypes == GIT_CREDENTIAL_USERNAME.rawValue {
            // SSH asks for the user name alone before offering methods: not an attempt.
            return git_credential_username_new(out, username)
        }
        credentialAttempts += 1
        if credentialAttempts > Self.maxCredentialAttempts {
            authenticationFailure = "authentication failed for \(redactedURL)"
            return GIT_EUSER.rawValue
        }
        if allowedTypes & GIT_CREDENTIAL_SSH_KEY.rawValue != 0, let privateKey = credentials.sshKeyFile {
            return git_credential_ssh_key_new(
                out, username, credentials.sshPublicKeyFile, privateKey, credentials.sshPassphrase)
        }
        if allowedTypes & GIT_CREDENTIAL_USERPASS_PLAINTEXT.rawValue != 0 {
            guard let token = credentials.token else {
                authenticationFailure = urlHasCredentials
                    ? "authentication failed for \(redactedURL)"
                    : "authentication required for \(redactedURL) but no token is configured"
                return GIT_EUSER.rawValue
            }
            return git_credential_userpass_plaintext_new(out, credentials.username ?? "git", token)
        }
        if allowedTypes & GIT_CREDENTIAL_SSH_KEY.rawValue != 0 {
            authenticationFailure = "authentication required for \(redactedURL) but no SSH key is configured"
        } else {
            authenticationFailure =
                "authentication required for \(redactedURL) with a method that is not supported (allowed types \(allowedTypes))"
        }
        return GIT_EUSER.rawValue
    }
}
