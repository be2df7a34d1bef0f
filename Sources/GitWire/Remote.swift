import HTTPTransport

/// How to authenticate to the remote. Printing it never shows the token or the passphrase.
public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// HTTP(S) user name (default "git"), or the SSH user when the URL names none (default "git").
    public var username: String?
    /// HTTP(S) password or access token.
    public var token: String?
    /// Private key file for ssh:// URLs.
    public var sshKeyFile: String?
    public var sshPublicKeyFile: String?
    public var sshPassphrase: String?

    public init(
        username: String? = nil, token: String? = nil, sshKeyFile: String? = nil,
        sshPublicKeyFile: String? = nil, sshPassphrase: String? = nil
    ) {
        self.username = username
        self.token = token
        self.sshKeyFile = sshKeyFile
        self.sshPublicKeyFile = sshPublicKeyFile
        self.sshPassphrase = sshPassphrase
    }

    public static let none = Credentials()

    public var description: String {
        var parts: [String] = []
        if let username { parts.append("username: \(username)") }
        if token != nil { parts.append("token: <redacted>") }
        if let sshKeyFile { parts.append("sshKeyFile: \(sshKeyFile)") }
        if let sshPublicKeyFile { parts.append("sshPublicKeyFile: \(sshPublicKeyFile)") }
        if sshPassphrase != nil { parts.append("sshPassphrase: <redacted>") }
        return "Credentials(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    /// `dump()` and reflection see the redacted form only.
    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }

    /// Strings that must never appear in a message.
    package var secrets: [String] {
        [token, sshPassphrase].compactMap { $0 }.filter { !$0.isEmpty }
    }
}

/// Where and how to reach the remote.
public struct RemoteOptions: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// https://, http://, ssh://, user@host:path, file:// or a local path.
    public var url: String
    public var credentials: Credentials
    /// A PEM file of CA certificates to trust for https (process-global in libgit2, see `fetch`).
    public var caFile: String?
    /// Bound on resolving and connecting to the remote host.
    public var timeoutSeconds: Int

    public init(url: String, credentials: Credentials = .none, caFile: String? = nil, timeoutSeconds: Int = 30) {
        self.url = url
        self.credentials = credentials
        self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
    }

    /// The URL with any `user:password@` removed, safe for messages.
    public var redactedURL: String {
        redactingCredentials(in: url, secrets: credentials.secrets)
    }

    public var description: String {
        "RemoteOptions(url: \(redactedURL), credentials: \(credentials), caFile: \(caFile ?? "none"), timeoutSeconds: \(timeoutSeconds))"
    }

    public var debugDescription: String { description }

    /// `dump()` and reflection see the redacted form only (the URL may embed a password).
    public var customMirror: Mirror {
        Mirror(self, children: ["description": description], displayStyle: .struct)
    }

    /// Secrets to scrub from messages: the credentials' and any password embedded in the URL.
    package var secrets: [String] {
        var result = credentials.secrets
        if let userinfo = RemoteEndpoint.userinfo(of: url), let colon = userinfo.firstIndex(of: ":") {
            let password = String(userinfo[userinfo.index(after: colon)...])
            if !password.isEmpty { result.append(password) }
        }
        return result
    }
}
