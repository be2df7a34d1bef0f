import CCurl
import Foundation

/// The network endpoint of a remote URL, and a bounded connection check.
///
/// libgit2 1.5.1 has no connect or I/O timeout (`GIT_OPT_SET_SERVER_CONNECT_TIMEOUT` and
/// `GIT_OPT_SET_SERVER_TIMEOUT` arrived in 1.7): a host that drops packets would hold an ssh
/// fetch or push for minutes while connecting. http and https never reach libgit2's network code
/// (`SmartHTTPClient` speaks them on `HTTPClient`); for the other network URLs the host is
/// resolved and connected to first, through libcurl with a deadline, and fails fast as
/// `.unreachable`.
package struct RemoteEndpoint: Equatable {
    var host: String
    var port: String

    init(host: String, port: String) {
        self.host = host
        self.port = port
    }

    /// nil for local remotes (file://, plain paths).
    package init?(url: String) {
        let lowered = url.lowercased()
        let defaults: [(prefix: String, port: String)] = [
            ("https://", "443"), ("http://", "80"), ("ssh://", "22"), ("ssh+git://", "22"),
            ("git+ssh://", "22"), ("git://", "9418"),
        ]
        var authority: Substring
        var defaultPort: String
        if let match = defaults.first(where: { lowered.hasPrefix($0.prefix) }) {
            let rest = url.dropFirst(match.prefix.count)
            authority = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
            defaultPort = match.port
        } else if !lowered.contains("://"), let colon = url.firstIndex(of: ":"),
                  !url[..<colon].contains("/"), url[..<colon].count > 1
        {
            // scp-like user@host:path (a one-letter "host" would be a Windows drive).
            authority = url[..<colon]
            defaultPort = "22"
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            guard !authority.isEmpty else { return nil }
            self.host = String(authority)
            self.port = defaultPort
            return
        } else {
            return nil
        }
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        if authority.hasPrefix("["), let close = authority.firstIndex(of: "]") {
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            port = after.hasPrefix(":") && after.count > 1 ? String(after.dropFirst()) : defaultPort
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            let portText = authority[authority.index(after: colon)...]
            port = portText.isEmpty ? defaultPort : String(portText)
        } else {
            host = String(authority)
            port = defaultPort
        }
        guard !host.isEmpty else { return nil }
    }

    /// The `user[:password]` part of a URL's authority, if any.
    package static func userinfo(of url: String) -> String? {
        guard let schemeEnd = url.range(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest[..<(rest.firstIndex(of: "/") ?? rest.endIndex)]
        guard let at = authority.lastIndex(of: "@") else { return nil }
        return String(authority[..<at])
    }

    /// Resolves the host and opens (then closes) a TCP connection, all within `timeout` seconds
    /// (libcurl's connect-only transfer: nothing is sent).
    package func checkReachable(timeout: Double) throws {
        let authority = host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        do {
            try HTTPClient.shared.connectOnly(url: "http://\(authority)/", timeout: timeout)
        } catch let failure as HTTPFailure {
            let reason = failure.kind == .timedOut
                ? "timed out after \(Self.format(timeout)) s resolving or connecting to \(hostAndPort)"
                : "cannot reach \(hostAndPort): \(failure.description)"
            throw Unreachable(reason: reason)
        }
    }

    /// The host could not be resolved or connected to in time.
    package struct Unreachable: Error, CustomStringConvertible {
        package var reason: String
        package var description: String { reason }
    }

    var hostAndPort: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
