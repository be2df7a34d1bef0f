import ArgumentParser
import Foundation
import GitOps
import Hummingbird
import KubeModel
import Logging
import ManifestorServer
import Templates

extension Manifestor {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve the HTTP API. Without --config: 127.0.0.1:8080 against a local bare repository seeded from gitops-skeleton/.")

        @Option(help: "The configuration file. Without it, the embedded default is used.")
        var config: String?

        @Option(help: "host:port to listen on (default: the config's server.listen, else 127.0.0.1:8080).")
        var listen: String?

        @Option(help: "Data folder of the embedded default (local repository, cache, tokens).")
        var dataDir: String = ProcessInfo.processInfo.environment["MANIFESTOR_DATA"] ?? ".data"

        @Option(help: "The skeleton that seeds the embedded default's repository.")
        var skeleton: String = "gitops-skeleton"

        @Option(help: "text or json (one JSON object a line). Default: the config's server.logFormat, else text.")
        var logFormat: LogFormat?

        func run() async throws {
            let logger = Logger(label: "manifestor")
            if let logFormat { LogSettings.shared.format = logFormat }
            var config: ManifestorConfig
            if let path = self.config {
                config = try ManifestorConfig.load(path: path)
                if logFormat == nil, let format = config.server.logFormat.flatMap(LogFormat.init(rawValue:)) {
                    LogSettings.shared.format = format
                }
            } else {
                config = try await EmbeddedDefault.prepare(dataDir: URL(fileURLWithPath: dataDir), skeleton: URL(fileURLWithPath: skeleton), logger: logger)
            }
            let (host, port) = try Self.parseListen(listen ?? config.server.listen ?? "127.0.0.1:8080")
            guard let tokensFile = config.server.tokensFile else {
                throw InputError(code: "invalid_config", field: "server.tokensFile", rule: "is required to serve")
            }
            let tokens = try TokenStore.load(path: tokensFile)
            let (app, service) = try buildApplication(ServerOptions(config: config, host: host, port: port, tokens: tokens), logger: logger)
            logger.info("serving", metadata: ["listen": "\(host):\(port)", "repository": "\(config.remote.redactedURL)", "branch": "\(config.branch)"])
            try await app.runService()
            await service.committer.drain()
        }

        static func parseListen(_ text: String) throws -> (String, Int) {
            guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
                throw InputError(code: "invalid_config", field: "server.listen", rule: "must be host:port")
            }
            return (String(text[..<colon]), port)
        }
    }

    struct Completion: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the shell completion script for bash, zsh or fish.",
            discussion: "bash: manifestor completion bash > /etc/bash_completion.d/manifestor; zsh: manifestor completion zsh > \"${fpath[1]}/_manifestor\"; fish: manifestor completion fish > ~/.config/fish/completions/manifestor.fish")

        @Argument(help: "bash, zsh or fish.")
        var shell: String

        func run() throws {
            guard let kind = CompletionShell(rawValue: shell) else {
                throw InputError(code: "invalid_shell", field: "SHELL", rule: "must be bash, zsh or fish, not \(YAMLEmitter.quoted(shell))")
            }
            FileHandle.standardOutput.write(Data(Manifestor.completionScript(for: kind).utf8))
        }
    }

    struct OpenAPI: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "openapi",
            abstract: "Print the OpenAPI document the server serves at /openapi.yaml (the same bytes as openapi.yaml).")

        func run() throws {
            FileHandle.standardOutput.write(Data(OpenAPIDocument.yaml.utf8))
        }
    }

    struct Token: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Manage API tokens.", subcommands: [Create.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Print a new random token (once) and, on the next line, the entry to add to the tokens file.")

            @Argument(help: "A name for the token's holder.")
            var name: String

            @Option(help: "reader, deployer or release-manager.")
            var role: String

            func run() throws {
                guard let role = Role(rawValue: role) else {
                    throw InputError(code: "invalid_role", field: "--role", rule: "must be reader, deployer or release-manager")
                }
                guard NameRules.isLabelValue(name), !name.isEmpty else {
                    throw InputError(code: "invalid_name", field: "NAME", rule: "must be 1-63 letters, digits, '-', '_' or '.'")
                }
                let token = TokenStore.generateToken()
                printLine(token)
                printLine(TokenStore.entryLine(name: name, role: role, token: token))
            }
        }
    }
}


/// With no config: a local bare repository created from gitops-skeleton/ in a data folder,
/// and a reader, a deployer and a release-manager token generated on first start.
enum EmbeddedDefault {
    static func prepare(dataDir: URL, skeleton: URL, logger: Logger) async throws -> ManifestorConfig {
        let fm = FileManager.default
        try fm.createDirectory(at: dataDir, withIntermediateDirectories: true)
        let data = dataDir.standardizedFileURL
        let remotePath = data.appendingPathComponent("aiworker-gitops.git").path
        try createBareRepository(at: remotePath)
        let tokensFile = data.appendingPathComponent("tokens.yaml")
        if !fm.fileExists(atPath: tokensFile.path) {
            var lines = ["# Generated on first start. Only SHA-256 digests are kept here; the tokens were printed once.", "tokens:"]
            var printed: [String] = []
            for (name, role) in [("reader", Role.reader), ("deployer", Role.deployer), ("release-manager", Role.releaseManager)] {
                let token = TokenStore.generateToken()
                lines.append(TokenStore.entryLine(name: name, role: role, token: token))
                printed.append("  \(role.rawValue): \(token)")
            }
            try (lines.joined(separator: "\n") + "\n").write(to: tokensFile, atomically: true, encoding: .utf8)
            try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: tokensFile.path)
            printLine("Generated API tokens (shown once; their SHA-256 is in \(tokensFile.path)):")
            printed.forEach(printLine)
        }
        let config = ManifestorConfig(
            repository: .init(url: "file://" + remotePath, branch: "main", cache: data.appendingPathComponent("cache").path),
            templates: URL(fileURLWithPath: "templates").standardizedFileURL,
            server: .init(listen: "127.0.0.1:8080", tokensFile: tokensFile.path, gcInterval: "10m"),
            source: "embedded default (\(data.path))")
        try await seed(config: config, skeleton: skeleton)
        printLine("Local gitops repository: \(remotePath)  (inspect with: git --git-dir \(remotePath) log -p)")
        return config
    }

    private static func seed(config: ManifestorConfig, skeleton: URL) async throws {
        let catalog = try Catalog.load(directory: config.templates)
        let committer = Committer(settings: Committer.Settings(config: config), catalog: { catalog })
        _ = try await committer.submit(try SeedRepository(skeleton: skeleton))
    }
}
