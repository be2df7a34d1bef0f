import Foundation
import GitStore
import GitWire

/// Where the cache knows the remote's branch to be, as the git thread last saw it (a fetch, a
/// landed push, a look at the remote's advertisement), and which previews the lately landed
/// batches changed, so that the preview index can follow a tip by re-reading only those.
/// Written on the git thread, read from any thread.
final class TipRecord: @unchecked Sendable {
    /// One landed batch: `head` on `base`, changing the previews `changed` (task ids).
    struct Landing {
        var base: ObjectID?
        var head: ObjectID
        var changed: Set<String>
    }

    private let lock = NSLock()
    private var known = false
    private var current: ObjectID?
    private var landings: [Landing] = []
    private let keep: Int

    init(keep: Int = 256) { self.keep = keep }

    /// The tip, once the git thread has seen one (`.some(nil)`: the branch does not exist yet).
    var tip: ObjectID?? { lock.withLock { known ? .some(current) : .none } }

    /// The remote was seen at `tip` (how it got there is not known: re-read what differs).
    func seen(_ tip: ObjectID?) {
        lock.withLock { known = true; current = tip }
    }

    /// The batch `base` → `head` landed, changing the previews `changed`.
    func landed(base: ObjectID?, head: ObjectID, changed: Set<String>) {
        lock.withLock {
            known = true; current = head
            landings.append(Landing(base: base, head: head, changed: changed))
            if landings.count > keep { landings.removeFirst(landings.count - keep) }
        }
    }

    /// The previews changed on the way from `from` to `to` through landed batches only, or nil
    /// when the way is not one of them (another writer, a fetch, a force-push, too long ago).
    func changes(from: ObjectID?, to: ObjectID?) -> Set<String>? {
        lock.withLock {
            guard let to else { return nil }
            var changed: Set<String> = []
            var at = from
            guard var position = landings.firstIndex(where: { $0.base == from }) else { return nil }
            while position < landings.count {
                let landing = landings[position]
                guard landing.base == at else { return nil }
                changed.formUnion(landing.changed)
                at = landing.head
                if at == to { return changed }
                position += 1
            }
            return nil
        }
    }
}
