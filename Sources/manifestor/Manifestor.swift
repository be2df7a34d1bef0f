import ArgumentParser
import Foundation
import GitOps
import KubeModel
import Logging

@main
struct Manifestor: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifestor",
        abstract: "Renders Kubernetes manifests for AiWorker's environments and commits them to the gitops repository.",
        version: BuildInfo.current().line,
        subcommands: [Render.self, Init.self, DeployPreview.self, DeletePreview.self, Serve.self, OpenAPI.self, Completion.self, Token.self, ArgoCDCommand.self,
                      Deploy.self, Promote.self, RollbackCommand.self, History.self, GC.self, Diff.self, Migrate.self, Previews.self, Status.self, BenchRender.self]
    )

    /// Exit statuses scripts rely on: 0 success (also "unchanged"), 1 bad input, 2 when git or
    /// the registry could not be reached.
    static func main() async {
        bootstrapLogging(defaultLevel: CommandLine.arguments.dropFirst().first == "serve" ? .info : .warning)
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
            await CommandLinks.drain()
        } catch {
            await CommandLinks.drain()
            exit(withError: error)
        }
    }

    static func exit(withError error: Error) -> Never {
        // `status` says ready (0), not ready (3) or unreachable (2) by its exit status alone.
        if let code = error as? ExitCode { Foundation.exit(code.rawValue) }
        if let failure = error as? CommandFailure {
            FileHandle.standardError.write(Data((failure.message + "\n").utf8))
            Foundation.exit(failure.status)
        }
        if let failure = error as? any DomainError {
            let line = failure.message.split(separator: "\n").first.map(String.init) ?? failure.code
            FileHandle.standardError.write(Data(("error: \(line)\n").utf8))
            Foundation.exit(failure.kind.exitStatus)
        }
        let code = Self.exitCode(for: error)
        if code == .success {
            Self.exit(withError: error as Error?)
        }
        let message = Self.message(for: error).split(separator: "\n").first.map(String.init) ?? "error"
        FileHandle.standardError.write(Data((message + "\n").utf8))
        if code == .validationFailure || code.rawValue == 64 {
            FileHandle.standardError.write(Data(Self.usageString().utf8 + Data("\n".utf8)))
            Foundation.exit(1)
        }
        Foundation.exit(code.rawValue == 0 ? 1 : (code.rawValue > 2 ? 1 : code.rawValue))
    }

    private static func usageString() -> String { "Run 'manifestor --help' for usage." }
}

/// A failure with its exit status and a one-line message.
struct CommandFailure: Error {
    var status: Int32
    var message: String
}
