import Foundation
import GitStore
import GitWire
import Logging

/// What a publisher says about its batches: to the observers of landed pushes, to the push
/// metrics, to the log.
extension Publisher {
    /// Tells the observers (if any) what the landed batch changed, each path classified against
    /// the tip the batch was built on.
    func tell(_ built: Built, head: ObjectID, repo: Repository) {
        let observers = observers.current
        guard !observers.isEmpty else { return }
        let before = TreeSnapshot(repository: repo, commit: built.base)
        var added: [String] = [], modified: [String] = [], removed: [String] = []
        for (path, exists) in built.touched.sorted(by: { $0.key < $1.key }) {
            let existed = ((try? before.blob(path)) ?? nil) != nil
            if !existed, !exists {
                // A directory removed whole: each of its files.
                removed += ((try? before.files(under: path)) ?? [:]).keys.sorted().map { "\(path)/\($0)" }
                continue
            }
            switch (existed, exists) {
            case (false, true): added.append(path)
            case (true, true): modified.append(path)
            case (true, false): removed.append(path)
            case (false, false): break
            }
        }
        let push = LandedPush(branch: cache.branch, before: built.base, after: head, added: added, modified: modified, removed: removed)
        observers.forEach { $0(push) }
    }

    /// Runs one push, recording how long it took whether it landed or not.
    func timed(_ push: () throws -> Void) rethrows {
        let start = ContinuousClock.now
        defer { metrics.pushDuration(seconds: seconds(since: start)) }
        try push()
    }

    /// The request ids of `batch`'s operations, for its log lines.
    func requestIDs(_ batch: [Pending]) -> Logger.MetadataValue {
        .array(batch.compactMap { $0.requestID.map { .string($0) } })
    }
}
