import Foundation
import GitStore
import GitWire

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

}
