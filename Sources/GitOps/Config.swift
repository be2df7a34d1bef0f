import Foundation
import GitStore
import GitWire
import KubeModel
import Templates

/// The configuration file of `manifestor serve --config FILE` and of every command that
/// touches the repository. Relative paths are resolved against the file's folder.
public struct ManifestorConfig: Sendable {
    public struct RepositorySection: Codable, Sendable {
        public var url: String
        public var branch: String?
        public var username: String?
        public var tokenFile: String?
        public var caFile: String?
        public var sshKeyFile: String?
        public var cache: String?
        /// Bound on reaching the remote, in seconds.
        public var timeoutSeconds: Int?
        /// How many times a refused push is retried (fetch, re-run, push).
        public var maxPushAttempts: Int?
        /// The cache is packed once about this many loose objects are in it.
        public var packLooseObjects: Int?

        public init(url: String, branch: String? = nil, username: String? = nil, tokenFile: String? = nil, caFile: String? = nil,
                    sshKeyFile: String? = nil, cache: String? = nil, timeoutSeconds: Int? = nil, maxPushAttempts: Int? = nil,
                    packLooseObjects: Int? = nil) {
            self.url = url; self.branch = branch; self.username = username; self.tokenFile = tokenFile; self.caFile = caFile
            self.sshKeyFile = sshKeyFile; self.cache = cache; self.timeoutSeconds = timeoutSeconds; self.maxPushAttempts = maxPushAttempts
            self.packLooseObjects = packLooseObjects
        }
    }

    public struct AuthorSection: Codable, Sendable {
        public var name: String
        public var email: String

        public init(name: String, email: String) { self.name = name; self.email = email }
    }

    public struct ServerSection: Codable, Sendable {
        public var listen: String?
        public var tokensFile: String?
        public var gcInterval: String?
        public var maxBodyBytes: Int?
        /// `text` (the default) or `json`: one JSON object per log line.
        public var logFormat: String?

        public init(listen: String? = nil, tokensFile: String? = nil, gcInterval: String? = nil, maxBodyBytes: Int? = nil,
                    logFormat: String? = nil) {
            self.listen = listen; self.tokensFile = tokensFile; self.gcInterval = gcInterval; self.maxBodyBytes = maxBodyBytes
            self.logFormat = logFormat
        }

        /// The log formats `server.logFormat` and `serve --log-format` accept.
        public static let logFormats = ["json", "text"]
    }

    public struct RegistrySection: Codable, Sendable {
        public var url: String
        public var username: String?
        public var passwordFile: String?
        public var caFile: String?
    }

    public struct ArgoCDSection: Codable, Sendable {
        public var codeRepository: String?
        public var codeRevision: String?
        public var namespace: String?
        /// Manifestor's own repository and revision, for the Application that runs Manifestor.
        public var manifestorRepository: String?
        public var manifestorRevision: String?
        /// The running Argo CD (`Config+ArgoCD.swift`): its API server, the project token, a CA,
        /// the ApplicationSet controller's webhook and its secret.
        public var server: String?
        public var tokenFile: String?
        public var caFile: String?
        public var applicationSetWebhook: String?
        public var webhookSecretFile: String?
        public var timeoutSeconds: Double?

        public init(codeRepository: String? = nil, codeRevision: String? = nil, namespace: String? = nil,
                    manifestorRepository: String? = nil, manifestorRevision: String? = nil) {
            self.codeRepository = codeRepository; self.codeRevision = codeRevision; self.namespace = namespace
            self.manifestorRepository = manifestorRepository; self.manifestorRevision = manifestorRevision
        }
    }

    /// `signing: {sshKeyFile: PATH}` (or `MANIFESTOR_SIGNING_KEY_FILE`): every commit is SSH-signed.
    public struct SigningSection: Codable, Sendable {
        public var sshKeyFile: String?
    }

    struct File: Codable, Sendable {
        var repository: RepositorySection
        var author: AuthorSection?
        var templates: String?
        var server: ServerSection?
        var registry: RegistrySection?
        var argocd: ArgoCDSection?
        var signing: SigningSection?
    }

    public var repository: RepositorySection
    public var author: AuthorSection
    public var templates: URL
    public var server: ServerSection
    public var registry: RegistrySection?
    public var argocd: ArgoCDSection
    /// The token for the git remote: `tokenFile`, else `MANIFESTOR_GIT_TOKEN`.
    public var gitToken: String?
    public var registryPassword: String?
    /// The running Argo CD to notify and to read status from; nil when the config names none.
    public var argocdLink: ArgoCDConnection?
    /// Signs every commit when the config (or the environment) names a key; read at load time.
    public var signer: SSHSigner?
    /// Where the file was read from (for messages).
    public var source: String

    public var branch: String { repository.branch ?? "main" }

    public var cacheDirectory: URL {
        URL(fileURLWithPath: repository.cache ?? FileManager.default.temporaryDirectory.appendingPathComponent("manifestor-cache").path)
    }

    public var remote: RemoteOptions {
        RemoteOptions(url: repository.url,
                      credentials: Credentials(username: repository.username, token: gitToken, sshKeyFile: repository.sshKeyFile),
                      caFile: repository.caFile, timeoutSeconds: repository.timeoutSeconds ?? 15)
    }

    public var signature: (name: String, email: String) { (author.name, author.email) }

    public static let defaultAuthor = AuthorSection(name: "Manifestor", email: "manifestor@aiworker.dev")

    public init(repository: RepositorySection, author: AuthorSection = ManifestorConfig.defaultAuthor, templates: URL,
                server: ServerSection = ServerSection(), registry: RegistrySection? = nil, argocd: ArgoCDSection = ArgoCDSection(),
                gitToken: String? = nil, registryPassword: String? = nil, source: String = "built-in defaults") {
        self.repository = repository; self.author = author; self.templates = templates; self.server = server
        self.registry = registry; self.argocd = argocd; self.gitToken = gitToken; self.registryPassword = registryPassword
        self.source = source
    }

    /// Reads and checks the file; `environment` supplies `MANIFESTOR_GIT_TOKEN` and
    /// `MANIFESTOR_REGISTRY_PASSWORD` when no file names them.
    public static func load(path: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ManifestorConfig {
        let url = URL(fileURLWithPath: path).standardizedFileURL
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw InputError(code: "invalid_config", field: "--config", rule: "file \(path) does not exist")
        }
        let file = try StrictYAML.decode(File.self, file: url)
        let base = url.deletingLastPathComponent()
        func resolve(_ p: String?) -> String? {
            guard let p, !p.isEmpty else { return nil }
            return p.hasPrefix("/") ? p : base.appendingPathComponent(p).standardizedFileURL.path
        }
        func fail(_ key: String, _ rule: String) -> InputError {
            InputError(code: "invalid_config", field: "\(url.path): \(key)", rule: rule)
        }
        var repo = file.repository
        repo.tokenFile = resolve(repo.tokenFile)
        repo.caFile = resolve(repo.caFile)
        repo.sshKeyFile = resolve(repo.sshKeyFile)
        repo.cache = resolve(repo.cache)
        if repo.url.hasPrefix("file://") == false, !repo.url.contains("://"), !repo.url.contains("@") {
            // A plain path names a local repository, relative to the config file.
            repo.url = resolve(repo.url) ?? repo.url
        }
        if let branch = repo.branch, !isValidBranch(branch) { throw fail("repository.branch", "must be a valid branch name") }
        if let loose = repo.packLooseObjects, !(1...1_000_000).contains(loose) {
            throw fail("repository.packLooseObjects", "must be a whole number from 1 to 1000000")
        }
        var token: String?
        if let tokenFile = repo.tokenFile {
            guard let data = FileManager.default.contents(atPath: tokenFile), let text = String(data: data, encoding: .utf8) else {
                throw fail("repository.tokenFile", "cannot read \(tokenFile)")
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let env = environment["MANIFESTOR_GIT_TOKEN"], !env.isEmpty {
            token = env
        }
        var server = file.server ?? ServerSection()
        server.tokensFile = resolve(server.tokensFile)
        if let interval = server.gcInterval {
            do { _ = try TTL.parse(interval, field: "server.gcInterval", max: nil) } catch { throw fail("server.gcInterval", error.rule) }
        }
        if let format = server.logFormat, !ServerSection.logFormats.contains(format) {
            throw fail("server.logFormat", "must be json or text")
        }
        var registry = file.registry
        var registryPassword: String?
        if var r = registry {
            r.passwordFile = resolve(r.passwordFile)
            r.caFile = resolve(r.caFile)
            if let pf = r.passwordFile {
                guard let data = FileManager.default.contents(atPath: pf), let text = String(data: data, encoding: .utf8) else {
                    throw fail("registry.passwordFile", "cannot read \(pf)")
                }
                registryPassword = text.trimmingCharacters(in: .whitespacesAndNewlines)
            } else {
                registryPassword = environment["MANIFESTOR_REGISTRY_PASSWORD"]
            }
            registry = r
        }
        let templates = resolve(file.templates) ?? FileManager.default.currentDirectoryPath + "/templates"
        var config = ManifestorConfig(repository: repo, author: file.author ?? defaultAuthor, templates: URL(fileURLWithPath: templates),
                                      server: server, registry: registry, argocd: file.argocd ?? ArgoCDSection(),
                                      gitToken: token, registryPassword: registryPassword, source: url.path)
        config.argocdLink = try ArgoCDConnection.load(file.argocd, resolve: resolve, fail: fail, environment: environment)
        // The key is read now, so that a bad one fails at start and never at the first commit.
        let keyFile = resolve(file.signing?.sshKeyFile) ?? environment["MANIFESTOR_SIGNING_KEY_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        if let keyFile {
            do { config.signer = try SSHSigner(keyFile: keyFile) } catch {
                throw fail(file.signing?.sshKeyFile != nil ? "signing.sshKeyFile" : "MANIFESTOR_SIGNING_KEY_FILE", "\(error)")
            }
        }
        return config
    }

    static func isValidBranch(_ name: String) -> Bool {
        !name.isEmpty && !name.hasPrefix("/") && !name.hasSuffix("/") && !name.hasSuffix(".lock") && !name.contains("..")
            && !name.contains("//") && !name.hasPrefix("-")
            && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && !"~^:?*[\\".unicodeScalars.contains($0) }
    }
}

/// Creates an empty bare repository at `path` (nothing when one is there): the embedded
/// default's local remote.
public func createBareRepository(at path: String) throws {
    do {
        _ = try Repository.openOrCreateBare(at: path)
    } catch {
        throw availability(of: error)
    }
}
