import Foundation
import GitWire
import KubeModel

/// What the promotion gate decided before a promotion was queued: the source's Argo CD
/// Application was ready, or a release manager forced the promotion with a reason. Without
/// Argo CD there is no gate (`nil`, answered as `"gate": "unchecked"`).
public enum PromotionGate: Sendable, Equatable {
    /// The source's Application was ready at `revision`, when the source directory's tree was
    /// `tree`: the promotion takes exactly what was checked, or is refused.
    case ready(revision: String, tree: ObjectID?)
    /// Promoted without the check; `reason` goes into the commit.
    case forced(reason: String)

    /// `force: true` needs a reason: one line of 3 to 200 characters.
    public static func forced(reason: String?) throws -> PromotionGate {
        let text = (reason ?? "").trimmingCharacters(in: .whitespaces)
        guard !text.isEmpty else {
            throw InputError(code: "invalid_reason", field: "reason", rule: "is required with force: say why the gate is skipped")
        }
        guard (3...200).contains(text.count), !text.contains(where: \.isNewline) else {
            throw InputError(code: "invalid_reason", field: "reason", rule: "must be one line of 3 to 200 characters")
        }
        return .forced(reason: text)
    }

    /// `ready`, `forced` (and `unchecked` for no gate), as the answer's `gate` says.
    public var label: String {
        switch self {
        case .ready: "ready"
        case .forced: "forced"
        }
    }

    /// The `Gate:` trailer of the promotion's commit.
    func trailer(source: PromotionSource) -> (String, String) {
        switch self {
        case .ready(let revision, _): ("Gate", "\(source) ready at \(revision)")
        case .forced(let reason): ("Gate", "forced: \(CommitMessage.oneLine(reason))")
        }
    }

    /// Refuses when the source directory is no longer what was checked.
    func check(source: PromotionSource, directory: String, tree: TreeSnapshot) throws {
        guard case .ready(let revision, let checked) = self else { return }
        if try tree.treeID(directory) != checked {
            throw ConflictError(code: "source_not_ready",
                                message: "\(source) changed after its Application was found ready at \(revision): its new state is not deployed yet; check again")
        }
    }
}
