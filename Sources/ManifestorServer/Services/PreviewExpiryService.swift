import Foundation
import GitOps
import Logging
import ServiceLifecycle
import Templates

/// Sweeps expired previews away through the committer: once at start (a server that was down
/// catches up), then every `interval` (config `server.gcInterval`, default 10m). A sweep that
/// fails (git down) is logged and retried at the next tick; it never stops the server.
public struct PreviewExpiryService: Service {
    public static let defaultInterval = "10m"

    let committer: Committer
    let interval: Duration
    let logger: Logger

    public init(committer: Committer, interval: Duration, logger: Logger = Logger(label: "manifestor.gc")) {
        self.committer = committer; self.interval = interval; self.logger = logger
    }

    /// The interval a config asks for.
    public static func interval(_ config: ManifestorConfig) throws -> Duration {
        .seconds(try TTL.parse(config.server.gcInterval ?? defaultInterval, field: "server.gcInterval", max: nil))
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await sweep()
                try? await Task.sleep(for: interval)
            }
        }
    }

    /// One sweep: at most one commit, listing every preview that expired.
    @discardableResult
    public func sweep() async -> CommitOutcome<ExpiryResult>? {
        do {
            let outcome = try await committer.submit(ExpirePreviews(requestedBy: "manifestor-gc"))
            if outcome.changed {
                logger.info("expired previews removed", metadata: [
                    "commit": "\(outcome.commitHex)",
                    "tasks": "\(outcome.answer.removed.map(\.taskId).joined(separator: ","))",
                ])
            }
            return outcome
        } catch {
            logger.warning("preview expiry sweep failed; retrying at the next interval", metadata: ["error": "\(error)"])
            return nil
        }
    }
}
