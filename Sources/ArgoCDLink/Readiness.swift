import Foundation
import GitOps

/// Decides `ready` and `failed` from what Argo CD reports of an Application and where its
/// revision stands against the directory it deploys. Ready: Synced at the commit that last
/// changed the directory or a later one, Healthy, and the last operation (hooks such as the
/// PostSync smoke Job included) finished without failing. Failed: at such a revision, Degraded
/// or the last operation Failed or Error — waiting longer will not make it ready.
enum Readiness {
    static func status(_ name: String, document: ApplicationDocument?, standing: RevisionStanding?,
                       operationStanding: RevisionStanding?, checkedAt: Date) -> ApplicationStatus {
        guard let document else {
            return ApplicationStatus(application: name, reason: "Argo CD has no Application \(name) yet", checkedAt: checkedAt)
        }
        var status = ApplicationStatus(application: name, sync: document.syncStatus, revision: document.revision,
                                       health: document.health, operation: document.operationPhase, checkedAt: checkedAt)
        let operationFailed = ["Failed", "Error"].contains(document.operationPhase ?? "")
        let atRevision = standing == .current
        status.failed = atRevision && (document.health == "Degraded" || (operationFailed && (operationStanding ?? standing) == .current))
        status.reason = reason(document, standing: standing, operationFailed: operationFailed)
        status.ready = status.reason == nil
        return status
    }

    /// The first condition that keeps it from being ready, or nil.
    private static func reason(_ document: ApplicationDocument, standing: RevisionStanding?, operationFailed: Bool) -> String? {
        guard let revision = document.revision else { return "Argo CD has not compared it with git yet" }
        switch standing ?? .unknown {
        case .current: break
        case .older(let changedBy):
            return "it is at \(revision.prefix(12)), older than the last change \(changedBy.short)"
        case .unknown:
            return "its revision \(revision.prefix(12)) is not on the branch"
        }
        if document.syncStatus != "Synced" { return "sync is \(document.syncStatus ?? "Unknown"), not Synced" }
        if operationFailed {
            let message = document.operationMessage.map { ": \(CommitMessageText.oneLine($0, limit: 160))" } ?? ""
            return "its last operation \(document.operationPhase ?? "failed")\(message)"
        }
        if let phase = document.operationPhase, phase != "Succeeded" { return "its operation is \(phase)" }
        if document.health != "Healthy" { return "health is \(document.health ?? "Unknown"), not Healthy" }
        return nil
    }
}

/// One line of at most `limit` characters, for messages.
enum CommitMessageText {
    static func oneLine(_ text: String, limit: Int) -> String {
        let line = text.split(whereSeparator: \.isNewline).joined(separator: " ")
        return line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
    }
}
