import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KubeModel

/// Resolves image tags to digests with the OCI distribution API, so that what is committed
/// names exactly the bytes that were built.
public struct RegistryClient: Sendable {
    public var baseURL: URL
    public var username: String?
    public var password: String?
    public var timeoutSeconds: Double

    /// Manifest media types we accept: OCI and Docker v2, single images and indexes/lists.
    public static let acceptedMediaTypes = [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]

    public init(baseURL: URL, username: String? = nil, password: String? = nil, timeoutSeconds: Double = 10) {
        self.baseURL = baseURL; self.username = username; self.password = password; self.timeoutSeconds = timeoutSeconds
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
    /// (`registry_tag_not_found`, 422) when the tag doesn't exist, `UnavailableError` when the
    /// registry can't be reached.
    public func digest(for reference: ImageReference, field: String) async throws -> String {
        let name = String(reference.repository.dropFirst(host.count + 1))
        let tag = reference.tag ?? "latest"
        let url = baseURL.appendingPathComponent("v2").appendingPathComponent(name).appendingPathComponent("manifests").appendingPathComponent(tag)
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeoutSeconds)
        request.httpMethod = "HEAD"
        request.setValue(Self.acceptedMediaTypes.joined(separator: ", "), forHTTPHeaderField: "Accept")
        if let username, let password {
            request.setValue("Basic " + Data("\(username):\(password)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        }
        var (response, _) = try await send(request)
        if response.statusCode == 401, let challenge = response.value(forHTTPHeaderField: "WWW-Authenticate"), challenge.lowercased().hasPrefix("bearer ") {
            let token = try await bearerToken(challenge: challenge, repository: name)
            request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
            (response, _) = try await send(request)
        }
        switch response.statusCode {
        case 200:
            guard let digest = response.value(forHTTPHeaderField: "Docker-Content-Digest"), digest.hasPrefix("sha256:"), digest.count == 71 else {
                throw UnavailableError(message: "registry \(host) answered \(reference) without a Docker-Content-Digest", retryAfterSeconds: 5)
            }
            return digest
        case 404:
            throw InputError(code: "registry_tag_not_found", field: field, rule: "image \(reference) does not exist in registry \(host)", kind: .unprocessable)
        case 401, 403:
            throw UnavailableError(message: "registry \(host) refused the credentials for \(name)", retryAfterSeconds: 30)
        default:
            throw UnavailableError(message: "registry \(host) answered \(response.statusCode) for \(reference)", retryAfterSeconds: 5)
        }
    }

    private func send(_ request: URLRequest) async throws -> (HTTPURLResponse, Data) {
        do {
            let (data, response) = try await URLSession.shared.data(for: request)
            guard let http = response as? HTTPURLResponse else {
                throw UnavailableError(message: "registry \(host) gave no HTTP answer", retryAfterSeconds: 5)
            }
            return (http, data)
        } catch let error as UnavailableError {
            throw error
        } catch {
            throw UnavailableError(message: "registry \(host) cannot be reached: \(error.localizedDescription)", retryAfterSeconds: 5)
        }
    }

    /// The token flow of the distribution spec: ask the realm named in the challenge.
    private func bearerToken(challenge: String, repository: String) async throws -> String {
        var params: [String: String] = [:]
        for part in challenge.dropFirst("bearer ".count).split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { params[kv[0].trimmingCharacters(in: .whitespaces).lowercased()] = kv[1].trimmingCharacters(in: CharacterSet(charactersIn: "\" ")) }
        }
        guard let realm = params["realm"], var components = URLComponents(string: realm) else {
            throw UnavailableError(message: "registry \(host) sent a bearer challenge without a realm", retryAfterSeconds: 30)
        }
        var items = components.queryItems ?? []
        if let service = params["service"] { items.append(URLQueryItem(name: "service", value: service)) }
        items.append(URLQueryItem(name: "scope", value: params["scope"] ?? "repository:\(repository):pull"))
        components.queryItems = items
        guard let url = components.url else { throw UnavailableError(message: "registry \(host): bad token realm", retryAfterSeconds: 30) }
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        if let username, let password {
            request.setValue("Basic " + Data("\(username):\(password)".utf8).base64EncodedString(), forHTTPHeaderField: "Authorization")
        }
        let (response, data) = try await send(request)
        struct TokenAnswer: Decodable { var token: String?; var access_token: String? }
        guard response.statusCode == 200, let answer = try? JSONDecoder().decode(TokenAnswer.self, from: data),
              let token = answer.token ?? answer.access_token else {
            throw UnavailableError(message: "registry \(host) refused a token (\(response.statusCode))", retryAfterSeconds: 30)
        }
        return token
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
