import Foundation

#if canImport(Glibc)
import Glibc
private let streamSocketType = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
private let streamSocketType = SOCK_STREAM
#endif

/// The network endpoint of a remote URL, and a bounded connection check.
///
/// libgit2 1.5.1 has no connect or I/O timeout (`GIT_OPT_SET_SERVER_CONNECT_TIMEOUT` and
/// `GIT_OPT_SET_SERVER_TIMEOUT` arrived in 1.7): a host that drops packets would hold a
/// fetch or push for minutes in `connect()`. So before handing a network URL to libgit2 we
/// resolve and connect ourselves with a deadline, and fail fast as `.unreachable`.
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

    /// Resolves the host and opens (then closes) a TCP connection, all within `timeout` seconds.
    /// The work runs on its own thread so that a slow resolver cannot hold the caller past the deadline.
    package func checkReachable(timeout: Double) throws {
        let box = ProbeResult()
        let done = DispatchSemaphore(value: 0)
        let endpoint = self
        let deadline = Date().addingTimeInterval(timeout)
        let thread = Thread {
            box.set(endpoint.connectOnce(deadline: deadline))
            done.signal()
        }
        thread.name = "manifestor.connect-check"
        thread.start()
        let waited = done.wait(timeout: .now() + .milliseconds(Int(timeout * 1000) + 50))
        let failure: String?
        if waited == .timedOut {
            failure = "timed out after \(Self.format(timeout)) s resolving or connecting to \(hostAndPort)"
        } else {
            failure = box.get() ?? nil
        }
        if let failure {
            throw Unreachable(reason: failure)
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

    /// nil on success, else the reason.
    private func connectOnce(deadline: Date) -> String? {
        switch connectSocket(deadline: deadline) {
        case .success(let fd):
            close(fd)
            return nil
        case .failure(let failure):
            return failure.reason
        }
    }

    struct ConnectFailure: Error {
        var reason: String
    }

    /// Resolves the host and connects a non-blocking TCP socket to it (each address in turn)
    /// before `deadline`. The caller closes the socket.
    func connectSocket(deadline: Date) -> Result<Int32, ConnectFailure> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamSocketType
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, port, &hints, &list)
        guard resolved == 0, let first = list else {
            return .failure(ConnectFailure(reason: "failed to resolve address for \(host): \(String(cString: gai_strerror(resolved)))"))
        }
        defer { freeaddrinfo(first) }
        var lastError = "no address for \(host)"
        var current: UnsafeMutablePointer<addrinfo>? = first
        while let info = current?.pointee {
            current = info.ai_next
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                return .failure(ConnectFailure(reason: "timed out connecting to \(hostAndPort)"))
            }
            let fd = socket(info.ai_family, info.ai_socktype, info.ai_protocol)
            guard fd >= 0 else {
                lastError = "failed to connect to \(hostAndPort): \(String(cString: strerror(errno)))"
                continue
            }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
            if connect(fd, info.ai_addr, info.ai_addrlen) == 0 { return .success(fd) }
            guard errno == EINPROGRESS else {
                lastError = "failed to connect to \(hostAndPort): \(String(cString: strerror(errno)))"
                close(fd)
                continue
            }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(max(1, remaining * 1000)))
            var socketError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &socketError, &length)
            if ready > 0 && socketError == 0 { return .success(fd) }
            lastError = ready == 0
                ? "timed out connecting to \(hostAndPort)"
                : "failed to connect to \(hostAndPort): \(String(cString: strerror(socketError != 0 ? socketError : errno)))"
            close(fd)
        }
        return .failure(ConnectFailure(reason: lastError))
    }
}

private final class ProbeResult: @unchecked Sendable {
    private let lock = NSLock()
    private var value: String??

    func set(_ newValue: String?) {
        lock.lock()
        value = .some(newValue)
        lock.unlock()
    }

    func get() -> String?? {
        lock.lock()
        defer { lock.unlock() }
        return value
    }
}
