import Foundation
import HTTPTransport
import KubeModel

/// Resolves image tags to digests with the OCI distribution API, so that what is committed
/// names exactly the bytes that were built. Every request goes through `HTTPClient` (libcurl)
/// with the registry's CA file, off the Swift concurrency pool, and within `timeoutSeconds`
/// per look-up. A registry that wants a token (a 401 with a Bearer challenge) gets the Docker
/// token flow: a token from the challenge's realm, with the registry credentials as basic auth,
/// kept per (realm, service, scope) until shortly before it expires.
public struct RegistryClient: Sendable {
    public var baseURL: URL
    public var username: String?
    public var password: String?
    /// A PEM file of CA certificates trusted for the registry and its token service.
    public var caFile: String?
    /// The bound on one look-up, token request included.
    public var timeoutSeconds: Double
    let tokens = RegistryTokens()

    /// Manifest media types we accept: OCI and Docker v2, single images and indexes/lists.
    public static let acceptedMediaTypes = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]

    public init(baseURL: URL, username: String? = nil, password: String? = nil, caFile: String? = nil, timeoutSeconds: Double = 10) {
        self.baseURL = baseURL; self.username = username; self.password = password; self.caFile = caFile
        self.timeoutSeconds = timeoutSeconds
    }

    /// `host[:port]` of the registry, as image references name it.
    public var host: String {
        let h = baseURL.host ?? ""
        return baseURL.port.map { "\(h):\($0)" } ?? h
    }

    /// Whether `reference` lives in this registry (others are left as they are).
    public func serves(_ reference: ImageReference) -> Bool {
        reference.repository.hasPrefix(host + "/")
    }

    /// The digest the registry returns for `reference`'s tag. Throws `InputError`
    /// (`registry_tag_not_found`, 422) when the tag doesn't exist, `UnavailableError` (503) when
    /// the registry or its token service can't be reached, isn't trusted or refuses the credentials.
    public func digest(for reference: ImageReference, field: String) async throws -> String {
        let client = self
        return try await Self.offThePool { try client.resolve(reference, field: field) }
    }

    /// Runs the blocking HTTP client off the concurrency pool, on a serial queue of its own: such
    /// a queue gets a thread even while others wait on the network (a shared concurrent queue
    /// would be as wide as the machine has cores, so look-ups stuck on a slow registry would hold
    /// up the rest).
    private static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue(label: "manifestor.registry.lookup", qos: .userInitiated).async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    /// One look-up: `HEAD /v2/<name>/manifests/<tag>`, through the token flow when challenged.
    func resolve(_ reference: ImageReference, field: String) throws -> String {
        let name = String(reference.repository.dropFirst(host.count + 1))
        let tag = reference.tag ?? "latest"
        let url = baseURL.appendingPathComponent("v2").appendingPathComponent(name).appendingPathComponent("manifests")
            .appendingPathComponent(tag).absoluteString
        let deadline = Date().addingTimeInterval(timeoutSeconds)
        // A token already held for this repository goes first; else the credentials, as basic auth.
        var sent: (key: RegistryTokens.Key, token: String)?
        if let key = tokens.expectedKey(repository: name), let token = tokens.cached(key) { sent = (key, token) }
        var response = try manifest(url, authorization: sent.map { "Bearer \($0.token)" } ?? basicAuthorization, deadline: deadline)
        if response.status == 401, let challenge = BearerChallenge(header: response.header("WWW-Authenticate")) {
            if let sent { tokens.forget(sent.key, token: sent.token) }
            tokens.remember(challenge)
            let key = RegistryTokens.Key(realm: challenge.realm, service: challenge.service,
                                         scope: challenge.scope ?? "repository:\(name):pull")
            let token = try tokens.token(for: key, deadline: deadline, timedOut: { timedOut("a token") }) {
                try fetchToken(key, deadline: deadline)
            }
            response = try manifest(url, authorization: "Bearer \(token)", deadline: deadline)
            if response.status == 401 || response.status == 403 {
                tokens.forget(key, token: token)
                throw UnavailableError(message: "registry \(host) refused the token its token service \(hostAndPort(key.realm)) issued to \(who) "
                                       + "for \(key.scope) (\(response.status)): check registry.username and registry.passwordFile",
                                       retryAfterSeconds: 30)
            }
        }
        switch response.status {
        case 200:
            guard let digest = response.header("Docker-Content-Digest"), digest.hasPrefix("sha256:"), digest.count == 71 else {
                throw UnavailableError(message: "registry \(host) answered \(reference) without a Docker-Content-Digest", retryAfterSeconds: 5)
            }
            return digest
        case 404:
            throw InputError(code: "registry_tag_not_found", field: field, rule: "image \(reference) does not exist in registry \(host)", kind: .unprocessable)
        case 401, 403:
            throw UnavailableError(message: "registry \(host) refused \(who) for \(name) (\(response.status)): check registry.username and registry.passwordFile",
                                   retryAfterSeconds: 30)
        default:
            throw UnavailableError(message: "registry \(host) answered \(response.status) for \(reference)", retryAfterSeconds: 5)
        }
    }

    private func manifest(_ url: String, authorization: String?, deadline: Date) throws -> HTTPResponse {
        var headers = [("Accept", Self.acceptedMediaTypes.joined(separator: ", "))]
        if let authorization { headers.append(("Authorization", authorization)) }
        return try exchange("HEAD", url, headers: headers, deadline: deadline, what: "the manifest")
    }

    /// The token flow of the distribution spec: ask the challenge's realm for `key`'s scope.
    private func fetchToken(_ key: RegistryTokens.Key, deadline: Date) throws -> (value: String, lifetime: TimeInterval) {
        let service = hostAndPort(key.realm)
        guard var components = URLComponents(string: key.realm), let scheme = components.scheme?.lowercased(),
              scheme == "https" || scheme == "http" else {
            throw UnavailableError(message: "registry \(host) named a token realm that is not an http(s) URL", retryAfterSeconds: 30)
        }
        var items = components.queryItems ?? []
        if let service = key.service { items.append(URLQueryItem(name: "service", value: service)) }
        items.append(URLQueryItem(name: "scope", value: key.scope))
        components.queryItems = items
        guard let url = components.url?.absoluteString else {
            throw UnavailableError(message: "registry \(host) named a token realm that is not a URL", retryAfterSeconds: 30)
        }
        var headers = [("Accept", "application/json")]
        if let basic = basicAuthorization { headers.append(("Authorization", basic)) }
        let response = try exchange("GET", url, headers: headers, deadline: deadline, what: "a token from its token service \(service)")
        guard response.status == 200 else {
            let refused = response.status == 401 || response.status == 403
            throw UnavailableError(message: "registry \(host): its token service \(service) "
                                   + (refused ? "refused \(who) for \(key.scope) (\(response.status)): check registry.username and registry.passwordFile"
                                              : "answered \(response.status) for \(key.scope)"),
                                   retryAfterSeconds: refused ? 30 : 5)
        }
        guard let answer = try? JSONDecoder().decode(RegistryTokenAnswer.self, from: response.body), let token = answer.value else {
            throw UnavailableError(message: "registry \(host): its token service \(service) answered without a token", retryAfterSeconds: 5)
        }
        return (token, answer.lifetime)
    }

    /// One exchange within what is left of `deadline`; transport failures as `UnavailableError`.
    private func exchange(_ method: String, _ url: String, headers: [(String, String)], deadline: Date, what: String) throws -> HTTPResponse {
        let left = deadline.timeIntervalSinceNow
        guard left > 0 else { throw timedOut(what) }
        let target = hostAndPort(url)
        let request = HTTPRequest(method: method, url: url, headers: headers + [("User-Agent", "manifestor")], caFile: caFile,
                                  connectTimeout: min(left, timeoutSeconds), timeout: left)
        do {
            return try HTTPClient.shared.perform(request)
        } catch let failure as HTTPFailure {
            switch failure.kind {
            case .timedOut: throw timedOut(what)
            case .certificate:
                throw UnavailableError(message: "registry \(host): the TLS certificate of \(target) is not trusted (\(failure.description)); "
                                       + (caFile == nil ? "set registry.caFile to the CA that signed it" : "check registry.caFile \(caFile!)"),
                                       retryAfterSeconds: 30)
            case .unreachable, .aborted, .other:
                throw UnavailableError(message: "registry \(host) cannot be reached (asking for \(what)): \(failure.description)", retryAfterSeconds: 5)
            }
        }
    }

    private func timedOut(_ what: String) -> UnavailableError {
        UnavailableError(message: "registry \(host): no answer within \(Int(timeoutSeconds.rounded(.up))) s (waiting for \(what))", retryAfterSeconds: 5)
    }

    private var basicAuthorization: String? {
        guard let username, let password else { return nil }
        return "Basic " + Data("\(username):\(password)".utf8).base64EncodedString()
    }

    /// Who asked, for messages: the user name, never the password or a token.
    private var who: String { username.map { "user \($0)" } ?? "an anonymous caller (no registry.username)" }

    /// `host[:port]` of `url`, for messages.
    private func hostAndPort(_ url: String) -> String {
        guard let url = URL(string: url), let h = url.host else { return "(bad URL)" }
        return url.port.map { "\(h):\($0)" } ?? h
    }

    /// Pins every tag of `images` that this registry serves: service → `repo@sha256:...`, and
    /// service → tag for the annotation people read.
    public func pin(_ images: [String: String], field: String) async throws -> (images: [String: String], tags: [String: String]) {
        var pinned = images
        var tags: [String: String] = [:]
        for (service, text) in images.sorted(by: { $0.key < $1.key }) {
            let fieldName = "\(field).\(service)"
            let ref: ImageReference
            do { ref = try ImageReference(parsing: text) } catch { throw InputError(code: "invalid_image", field: fieldName, rule: error.description, kind: .unprocessable) }
            guard ref.digest == nil, serves(ref) else { continue }
            let digest = try await self.digest(for: ref, field: fieldName)
            pinned[service] = "\(ref.repository)@\(digest)"
            tags[service] = ref.tag ?? "latest"
        }
        return (pinned, tags)
    }
}

/// An operation that names images by service, whose tags are pinned to digests before it is
/// queued (so a re-run after a refused push commits exactly the same digests).
public protocol ImagePinning {
    var images: [String: String] { get set }
    var imageTags: [String: String] { get set }
}

extension ImagePinning {
    /// Resolves every tag `registry` serves to its digest, keeping the tag for the annotation
    /// people read; without a registry the images stay as given.
    public mutating func pinImages(with registry: RegistryClient?) async throws {
        guard let registry else { return }
        let pinned = try await registry.pin(images, field: "images")
        images = pinned.images
        imageTags = pinned.tags
    }
}

extension DeployPreview: ImagePinning {}
extension DeployStaging: ImagePinning {}
