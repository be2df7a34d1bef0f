import Foundation

#if canImport(Glibc)
import Glibc
private let systemSend = Glibc.send
private let noSignal = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin
private let systemSend = Darwin.send
private let noSignal: Int32 = 0
#endif

/// A minimal HTTP/1.1 client for plain http:// (one request per connection), with a deadline on
/// resolving and connecting and one on the whole exchange.
///
/// Used by the smart-HTTP push instead of URLSession: FoundationNetworking on Linux answers a
/// 401 to a request that carries its own `Authorization` header by running its credential
/// machinery, which without a delegate never completes (the task only ends at its timeout), so a
/// wrong token would look like an unreachable server.
package struct PlainHTTPClient: Sendable {
    package struct Response {
        package var status: Int
        package var headers: [String: String]  // lower-cased names
        package var body: Data
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    let host: String
    let port: String
    /// Bound on resolving and connecting.
    let connectTimeout: TimeInterval
    /// Bound on the whole exchange, the server's work included.
    let timeout: TimeInterval

    /// `target` is the request target (absolute path and query).
    package init(host: String, port: String, connectTimeout: TimeInterval, timeout: TimeInterval) {
        self.host = host; self.port = port; self.connectTimeout = connectTimeout; self.timeout = timeout
    }

    package func send(method: String, target: String, headers: [(String, String)], body: Data?) throws -> Response {
        let start = Date()
        let deadline = start.addingTimeInterval(timeout)
        let fd = try connect(deadline: min(deadline, start.addingTimeInterval(connectTimeout)))
        defer { close(fd) }
        var head = "\(method) \(target) HTTP/1.1\r\nHost: \(hostHeader)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        try write(fd, request, deadline: deadline)
        return try readResponse(fd, deadline: deadline)
    }

    private var hostHeader: String {
        let bare = host.contains(":") ? "[\(host)]" : host
        return port == "80" ? bare : "\(bare):\(port)"
    }

    private func remaining(_ deadline: Date) throws -> Int32 {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { throw Failure(description: "timed out after \(Int(timeout)) s talking to \(host):\(port)") }
        return Int32(min(Double(Int32.max), max(1, left * 1000)))
    }

    private func connect(deadline: Date) throws -> Int32 {
        switch RemoteEndpoint(host: host, port: port).connectSocket(deadline: deadline) {
        case .success(let fd):
            var one: Int32 = 1
            _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return fd
        case .failure(let failure):
            throw Failure(description: failure.reason)
        }
    }

    private func write(_ fd: Int32, _ data: Data, deadline: Date) throws {
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let n = systemSend(fd, bytes.baseAddress! + offset, bytes.count - offset, noSignal)
                if n > 0 { offset += n; continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
                    var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                    if poll(&poller, 1, try remaining(deadline)) == 0 {
                        throw Failure(description: "timed out sending to \(host):\(port)")
                    }
                    continue
                }
                throw Failure(description: "connection to \(host):\(port) lost while sending: \(String(cString: strerror(errno)))")
            }
        }
    }

    /// Reads until the server closes the connection (we asked it to), then parses.
    private func readResponse(_ fd: Int32, deadline: Date) throws -> Response {
        var raw = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress!, $0.count, 0) }
            if n > 0 {
                raw.append(contentsOf: buffer[0..<n])
                if let response = try? parse(raw, complete: false) { return response }
                continue
            }
            if n == 0 { break }
            if errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR {
                var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                if poll(&poller, 1, try remaining(deadline)) == 0 {
                    throw Failure(description: "timed out waiting for \(host):\(port) to answer")
                }
                continue
            }
            throw Failure(description: "connection to \(host):\(port) lost while receiving: \(String(cString: strerror(errno)))")
        }
        return try parse(raw, complete: true)
    }

    /// The response in `raw`, or an error when it is not complete yet (`complete`: the server
    /// closed the connection, so a body without a length ends here).
    private func parse(_ raw: Data, complete: Bool) throws -> Response {
        guard let headerEnd = raw.firstRange(of: Data("\r\n\r\n".utf8)) else {
            throw Failure(description: complete ? "\(host):\(port) closed the connection without an HTTP answer" : "incomplete")
        }
        let lines = String(decoding: raw[raw.startIndex..<headerEnd.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/"), let status = Int(statusParts[1]) else {
            throw Failure(description: "\(host):\(port) sent a malformed HTTP status line")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let rest = raw[headerEnd.upperBound...]
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            guard let body = Self.dechunk(rest) else {
                throw Failure(description: complete ? "\(host):\(port) sent a truncated chunked body" : "incomplete")
            }
            return Response(status: status, headers: headers, body: body)
        }
        if let lengthText = headers["content-length"], let length = Int(lengthText) {
            guard rest.count >= length else {
                throw Failure(description: complete ? "\(host):\(port) sent a truncated body" : "incomplete")
            }
            return Response(status: status, headers: headers, body: Data(rest.prefix(length)))
        }
        guard complete else { throw Failure(description: "incomplete") }
        return Response(status: status, headers: headers, body: Data(rest))
    }

    /// The body of a complete chunked encoding, or nil when it is not complete.
    static func dechunk(_ data: Data) -> Data? {
        var body = Data()
        var index = data.startIndex
        let crlf = Data("\r\n".utf8)
        while true {
            guard let lineEnd = data[index...].firstRange(of: crlf) else { return nil }
            let sizeText = String(decoding: data[index..<lineEnd.lowerBound], as: UTF8.self)
                .split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
            guard let size = Int(sizeText, radix: 16) else { return nil }
            index = lineEnd.upperBound
            if size == 0 { return body }
            guard data.endIndex - index >= size + 2 else { return nil }
            body.append(data[index..<index + size])
            index += size + 2
        }
    }
}
