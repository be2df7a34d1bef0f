import CCurl
import Foundation

/// One HTTP exchange as Manifestor asks for it: everything it says over the network (the git
/// wire, the registry) goes through `HTTPClient`.
package struct HTTPRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(String, String)]
    package var body: Data?
    /// A PEM file of CA certificates to trust instead of the system's (https).
    package var caFile: String?
    /// Bound on resolving, connecting and the TLS handshake.
    package var connectTimeout: TimeInterval
    /// Bound on the whole exchange, the server's work included.
    package var timeout: TimeInterval
    /// Abort when fewer than `bytes` arrive per second for `seconds` (a stalled download).
    package var lowSpeed: (bytes: Int, seconds: Int)?

    package init(method: String, url: String, headers: [(String, String)] = [], body: Data? = nil, caFile: String? = nil,
                 connectTimeout: TimeInterval, timeout: TimeInterval, lowSpeed: (bytes: Int, seconds: Int)? = nil) {
        self.method = method; self.url = url; self.headers = headers; self.body = body; self.caFile = caFile
        self.connectTimeout = connectTimeout; self.timeout = timeout; self.lowSpeed = lowSpeed
    }
}

package struct HTTPResponse: Sendable {
    package var status: Int
    /// Lower-cased names; a repeated header keeps its last value.
    package var headers: [String: String]
    package var body: Data

    package func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why an exchange did not complete. The message never holds the URL's credentials.
package struct HTTPFailure: Error, CustomStringConvertible, Sendable {
    package enum Kind: Sendable {
        /// The deadline passed (connecting, or the whole exchange).
        case timedOut
        /// The name did not resolve or nothing accepted the connection.
        case unreachable
        /// The TLS handshake failed or the certificate is not trusted.
        case certificate
        /// The body handler stopped the transfer.
        case aborted
        case other
    }

    package var kind: Kind
    package var description: String
}

/// The HTTP client of Manifestor, on libcurl: http and https, a CA file per request, a connect
/// deadline and a total deadline on every exchange, keep-alive and connection reuse (idle easy
/// handles keep their connections and are reused), and no redirects followed: a 3xx is answered
/// as it came, for the caller to decide. Blocking; call it from a thread that may wait.
package final class HTTPClient: @unchecked Sendable {
    package static let shared = HTTPClient()

    private let lock = NSLock()
    private var idle: [OpaquePointer] = []
    private let maxIdle = 8

    private static let initialized: Bool = curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK

    package init() {}

    deinit {
        for handle in idle { curl_easy_cleanup(UnsafeMutableRawPointer(handle)) }
    }

    /// Sends `request` and returns the whole answer.
    package func perform(_ request: HTTPRequest) throws -> HTTPResponse {
        var body = Data()
        var response = try perform(request) { chunk in body.append(contentsOf: chunk); return true }
        if (200..<300).contains(response.status) { response.body = body }
        return response
    }

    /// Sends `request`, handing a 2xx answer's body to `onData` as it arrives (return false to
    /// stop the transfer); the response's `body` is then empty. Any other answer's body is in
    /// the response's `body`, and `onData` is not called.
    package func perform(_ request: HTTPRequest, onData: (UnsafeRawBufferPointer) throws -> Bool) throws -> HTTPResponse {
        guard Self.initialized else { throw HTTPFailure(kind: .other, description: "libcurl could not be initialised") }
        guard let handle = take() else { throw HTTPFailure(kind: .other, description: "libcurl gave no handle") }
        var reusable = false
        defer { giveBack(handle, reusable: reusable) }
        return try withoutActuallyEscaping(onData) { onData in
            let exchange = Exchange(onData: onData)
            let result = try exchange.run(request, on: handle)
            reusable = true
            return result
        }
    }

    /// Resolves and connects to `url`'s host (and does the TLS handshake for https) within
    /// `timeout` seconds, then hangs up: a reachability check that sends nothing.
    package func connectOnly(url: String, timeout: TimeInterval) throws {
        guard Self.initialized, let raw = curl_easy_init() else { throw HTTPFailure(kind: .other, description: "libcurl gave no handle") }
        defer { curl_easy_cleanup(raw) }
        _ = manifestor_curl_set_string(raw, CURLOPT_URL, url)
        _ = manifestor_curl_set_long(raw, CURLOPT_NOSIGNAL, 1)
        _ = manifestor_curl_set_long(raw, CURLOPT_CONNECT_ONLY, 1)
        _ = manifestor_curl_set_long(raw, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(timeout))
        _ = manifestor_curl_set_long(raw, CURLOPT_TIMEOUT_MS, milliseconds(timeout))
        let code = curl_easy_perform(raw)
        guard code == CURLE_OK else {
            throw HTTPFailure(kind: Exchange.kind(of: code), description: String(cString: curl_easy_strerror(code)))
        }
    }

    private func take() -> OpaquePointer? {
        if let handle = lock.withLock({ idle.popLast() }) { return handle }
        return curl_easy_init().map { OpaquePointer($0) }
    }

    private func giveBack(_ handle: OpaquePointer, reusable: Bool) {
        let raw = UnsafeMutableRawPointer(handle)
        curl_easy_reset(raw)
        let kept = reusable && lock.withLock { () -> Bool in
            guard idle.count < maxIdle else { return false }
            idle.append(handle)
            return true
        }
        if !kept { curl_easy_cleanup(raw) }
    }
}

/// One transfer's state, reached from libcurl's callbacks through their context pointer.
private final class Exchange {
    let onData: (UnsafeRawBufferPointer) throws -> Bool
    var headers: [String: String] = [:]
    /// The status of the answer being received (from its status line).
    var status = 0
    /// The body of an answer that is not a 2xx.
    var otherBody = Data()
    var failure: Error?

    init(onData: @escaping (UnsafeRawBufferPointer) throws -> Bool) { self.onData = onData }

    func run(_ request: HTTPRequest, on handle: OpaquePointer) throws -> HTTPResponse {
        let curl = UnsafeMutableRawPointer(handle)
        var list: UnsafeMutablePointer<curl_slist>?
        defer { curl_slist_free_all(list) }
        for (name, value) in request.headers { list = curl_slist_append(list, "\(name): \(value)") }
        // libcurl would add `Expect: 100-continue` to large POSTs and wait for the server.
        list = curl_slist_append(list, "Expect:")
        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        let context = Unmanaged.passUnretained(self).toOpaque()
        let code: CURLcode = try errorBuffer.withUnsafeMutableBufferPointer { errors in
            try withOptionalBytes(request.body) { bodyPointer, bodyCount in
                func check(_ code: CURLcode) throws {
                    guard code == CURLE_OK else {
                        throw HTTPFailure(kind: .other, description: "libcurl option: \(String(cString: curl_easy_strerror(code)))")
                    }
                }
                try check(manifestor_curl_set_string(curl, CURLOPT_URL, request.url))
                try check(manifestor_curl_set_long(curl, CURLOPT_NOSIGNAL, 1))
                try check(manifestor_curl_set_long(curl, CURLOPT_FOLLOWLOCATION, 0))
                try check(manifestor_curl_set_long(curl, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(request.connectTimeout)))
                try check(manifestor_curl_set_long(curl, CURLOPT_TIMEOUT_MS, milliseconds(request.timeout)))
                if let lowSpeed = request.lowSpeed {
                    try check(manifestor_curl_set_long(curl, CURLOPT_LOW_SPEED_LIMIT, lowSpeed.bytes))
                    try check(manifestor_curl_set_long(curl, CURLOPT_LOW_SPEED_TIME, lowSpeed.seconds))
                }
                try check(manifestor_curl_set_long(curl, CURLOPT_TCP_NODELAY, 1))
                try check(manifestor_curl_set_long(curl, CURLOPT_TCP_KEEPALIVE, 1))
                if let caFile = request.caFile { try check(manifestor_curl_set_string(curl, CURLOPT_CAINFO, caFile)) }
                try check(manifestor_curl_set_pointer(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(list)))
                try check(manifestor_curl_set_pointer(curl, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errors.baseAddress)))
                try check(manifestor_curl_set_callback(curl, CURLOPT_WRITEFUNCTION, exchangeBody))
                try check(manifestor_curl_set_pointer(curl, CURLOPT_WRITEDATA, context))
                try check(manifestor_curl_set_callback(curl, CURLOPT_HEADERFUNCTION, exchangeHeader))
                try check(manifestor_curl_set_pointer(curl, CURLOPT_HEADERDATA, context))
                switch request.method {
                case "GET": try check(manifestor_curl_set_long(curl, CURLOPT_HTTPGET, 1))
                case "HEAD": try check(manifestor_curl_set_long(curl, CURLOPT_NOBODY, 1))
                default:
                    try check(manifestor_curl_set_string(curl, CURLOPT_CUSTOMREQUEST, request.method))
                }
                if request.body != nil {
                    try check(manifestor_curl_set_long(curl, CURLOPT_POST, 1))
                    if request.method != "POST" { try check(manifestor_curl_set_string(curl, CURLOPT_CUSTOMREQUEST, request.method)) }
                    try check(manifestor_curl_set_offset(curl, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bodyCount)))
                    try check(manifestor_curl_set_pointer(curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: bodyPointer)))
                }
                return curl_easy_perform(curl)
            }
        }
        if let failure { throw failure }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let message = detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
            throw HTTPFailure(kind: Self.kind(of: code), description: "\(request.method) \(redactedURL(request.url)): \(message)")
        }
        var status = 0
        _ = manifestor_curl_get_long(curl, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: headers, body: otherBody)
    }

    static func kind(of code: CURLcode) -> HTTPFailure.Kind {
        switch code {
        case CURLE_OPERATION_TIMEDOUT: .timedOut
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_CONNECT: .unreachable
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_CERTPROBLEM,
             CURLE_SSL_ISSUER_ERROR: .certificate
        case CURLE_WRITE_ERROR, CURLE_ABORTED_BY_CALLBACK: .aborted
        default: .other
        }
    }

    func received(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard (200..<300).contains(status) else {
            otherBody.append(contentsOf: bytes)
            return true
        }
        do { return try onData(bytes) } catch { failure = error; return false }
    }

    func receivedHeader(_ line: String) {
        // A new status line (after a 100 Continue, say) starts the headers over.
        if line.hasPrefix("HTTP/") {
            headers = [:]
            status = line.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
            return
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
        headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

private func exchangeBody(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let exchange = Unmanaged<Exchange>.fromOpaque(context).takeUnretainedValue()
    let length = size * count
    return exchange.received(UnsafeRawBufferPointer(start: data, count: length)) ? length : 0
}

private func exchangeHeader(_ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ context: UnsafeMutableRawPointer?) -> Int {
    guard let context else { return 0 }
    let length = size * count
    if let data {
        let line = String(decoding: UnsafeRawBufferPointer(start: data, count: length), as: UTF8.self)
        Unmanaged<Exchange>.fromOpaque(context).takeUnretainedValue().receivedHeader(line)
    }
    return length
}

private func withOptionalBytes<T>(_ data: Data?, _ body: (UnsafeRawPointer?, Int) throws -> T) rethrows -> T {
    guard let data else { return try body(nil, 0) }
    return try data.withUnsafeBytes { try body($0.baseAddress, $0.count) }
}

private func milliseconds(_ seconds: TimeInterval) -> Int {
    Int(max(1, (seconds * 1000).rounded(.up)))
}

/// `url` with any `user:password@` removed.
package func redactedURL(_ url: String) -> String {
    guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@"),
          !url[scheme.upperBound..<at].contains("/")
    else { return url }
    return String(url[..<scheme.upperBound]) + String(url[url.index(after: at)...])
}
