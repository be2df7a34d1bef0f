import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import GitOps
import ManifestorServer
import Testing

/// A server on the real git server with an Argo CD stand-in beside it (scripts/argocd-standin.py
/// over the same bare repository): the webhook and refresh after each push, the status and the
/// long poll, the promotion gate.
final class ArgoLoop: @unchecked Sendable {
    let h: ServerHarness
    let argo: ArgoCDStandIn

    init(syncDelay: Double = 0.3, requeue: Double = 180) throws {
        h = try ServerHarness()
        argo = try ArgoCDStandIn.start(repo: h.remote.server.bareRepoPath(h.remote.repoName), repoURL: h.remote.repoURL,
                                       requeue: requeue, syncDelay: syncDelay)
        try argo.token!.write(to: h.remote.work.appendingPathComponent("argocd.token"), atomically: true, encoding: .utf8)
        try argo.secret!.write(to: h.remote.work.appendingPathComponent("argocd.secret"), atomically: true, encoding: .utf8)
    }

    /// The `argocd:` section naming the stand-in (`server` and `webhook` may be replaced).
    func argocdConfig(server: String? = nil, webhook: String? = nil, tokenFile: String = "argocd.token") -> String {
        """
        argocd:
          server: \(server ?? argo.url)
          tokenFile: \(tokenFile)
          applicationSetWebhook: \(webhook ?? argo.webhookURL)
          webhookSecretFile: argocd.secret
          timeoutSeconds: 2
        """
    }

    var deployer: String { h.tokens["deployer"]! }
    var reader: String { h.tokens["reader"]! }
    var releaseManager: String { h.tokens["release-manager"]! }

    /// Waits (bounded) until the stand-in's Application `name` satisfies `condition`.
    func waitForApp(_ name: String, timeout: TimeInterval = 20, _ condition: @escaping (ArgoCDStandIn.AppState) -> Bool) throws -> ArgoCDStandIn.AppState {
        var found: ArgoCDStandIn.AppState?
        let met = try argo.waitFor(timeout) {
            found = try argo.app(name)
            return found.map(condition) ?? false
        }
        guard met, let found else { throw FixtureError("Application \(name) never got there: \(String(describing: found))") }
        return found
    }

    /// The GETs of Application `name` the stand-in answered.
    func applicationReads(_ name: String) throws -> [ArgoCDStandIn.Request] {
        try argo.requests().filter { $0.kind == "application" && $0.application == name }
    }

    static func backend(_ tag: String) -> String { #"{"images": {"backend": "git.fuq.tv/admin/aiworker-backend:\#(tag)"}}"# }
    static func pinned(_ fill: Character) -> String { ReplicaConsistencyTests.pinned(fill) }
}

@Suite("Argo CD: refresh at once, status, gates", .serialized)
struct ArgoCDLoopTests {
    @Test("a deploy-preview is followed within 1 s by a signed push event naming its commit, the Application exists and is refreshed")
    func notifiesAtOnce() async throws {
        let loop = try ArgoLoop()
        let before = try #require(loop.h.remote.tip)
        try await loop.h.withServer(extraConfig: loop.argocdConfig()) { api, _ in
            let answer = try await api.send("POST", "/api/tasks/hook1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            let answeredAt = Date().timeIntervalSince1970
            #expect(answer.status == 201)
            let commit = try #require(answer.json?["commit"] as? String)
            #expect(try loop.argo.waitFor(10) { try loop.argo.webhooks().contains { $0.after == commit } })
            let event = try #require(try loop.argo.webhooks().first { $0.after == commit })
            #expect(event.time - answeredAt < 1.0, "the push event came \(event.time - answeredAt) s after the answer")
            #expect(event.event == "push")
            #expect(event.signature == "valid" && event.signatureValid == true)
            #expect(event.matched, "the generators' repository and branch matched: \(event)")
            #expect(event.status == 200)
            #expect(event.ref == "refs/heads/main" && event.before == before)
            #expect(event.htmlURL == String(loop.h.remote.repoURL.dropLast(4)) && event.cloneURL == loop.h.remote.repoURL)
            #expect(event.defaultBranch == "main")
            #expect(event.commits.first?.added.contains("preview/task-hook1/deployment-backend.yaml") == true)
            #expect(event.created.contains("preview-task-hook1"))
            // The Application exists at once (not at the 3-minute requeue), and is refreshed.
            #expect(try loop.argo.app("preview-task-hook1") != nil)
            #expect(try loop.argo.waitFor(10) {
                try loop.applicationReads("preview-task-hook1").contains { $0.refresh == "normal" && $0.authorized && $0.status == 200 }
            })
            let synced = try loop.waitForApp("preview-task-hook1") { $0.sync == "Synced" && $0.revision == commit }
            #expect(synced.health == "Healthy")

            // A redeploy that changes a file is a modification; a delete removes the files and
            // the Application goes with the generation the event triggers.
            let again = try await api.send("POST", "/api/tasks/hook1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("b"))
            let second = try #require(again.json?["commit"] as? String)
            #expect(try loop.argo.waitFor(10) { try loop.argo.webhooks().contains { $0.after == second } })
            let modified = try #require(try loop.argo.webhooks().first { $0.after == second })
            #expect(modified.before == commit)
            #expect(modified.commits.first?.modified.contains("preview/task-hook1/deployment-backend.yaml") == true)
            let deleted = try await api.send("DELETE", "/api/tasks/hook1/preview", token: loop.deployer)
            let third = try #require(deleted.json?["commit"] as? String)
            #expect(try loop.argo.waitFor(10) { try loop.argo.webhooks().contains { $0.after == third } })
            let removal = try #require(try loop.argo.webhooks().first { $0.after == third })
            #expect(removal.commits.first?.removed.contains("preview/task-hook1/deployment-backend.yaml") == true)
            #expect(removal.deleted.contains("preview-task-hook1"))
        }
    }

    @Test("with Argo CD down the deploy answers 201 before the notifier gives up, and the failure is counted")
    func argoDownDoesNotDelay() async throws {
        let loop = try ArgoLoop()
        let downURL = loop.argo.url
        loop.argo.stop()
        try await loop.h.withServer(extraConfig: loop.argocdConfig(server: downURL, webhook: downURL + "/api/webhook")) { api, _ in
            let answer = try await api.send("POST", "/api/tasks/down1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            #expect(answer.status == 201)
            #expect(loop.h.remote.tip == answer.json?["commit"] as? String)
            // The notifier retries for over two seconds before it gives up: the answer came first.
            func failed() async throws -> String? {
                let text = String(decoding: try await api.send("GET", "/metrics").data, as: UTF8.self)
                return text.split(separator: "\n").first { $0.hasPrefix("manifestor_argocd_notifications_total") && $0.contains(#"kind="webhook""#)
                    && $0.contains(#"result="failed""#) }.map(String.init)
            }
            #expect(try await failed()?.hasSuffix(" 0") == true, "counted before the retries were over")
            var counted = false
            for _ in 0..<200 where !counted {
                counted = try await failed()?.hasSuffix(" 1") == true
                if !counted { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(counted, "the failed webhook delivery is counted")
            // The status says Argo CD could not be asked, and the read still answers 200.
            let read = try await api.send("GET", "/api/tasks/down1/preview", token: loop.reader)
            #expect(read.status == 200)
            let status = try #require(read.json?["status"] as? [String: Any])
            #expect(status["application"] as? String == "preview-task-down1")
            #expect(status["ready"] as? Bool == false)
            #expect((status["error"] as? String)?.contains("could not be reached") == true)
        }
    }

    @Test("status from Argo CD; wait=ready answers when Synced and Healthy, early when Degraded, at the timeout otherwise")
    func statusAndWait() async throws {
        let loop = try ArgoLoop(syncDelay: 1.0)
        try await loop.h.withServer(extraConfig: loop.argocdConfig()) { api, _ in
            // Ready: the wait starts before the stand-in has synced and ends once it has.
            let deployed = try await api.send("POST", "/api/tasks/live1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            let commit = try #require(deployed.json?["commit"] as? String)
            let start = ContinuousClock.now
            let waited = try await api.send("GET", "/api/tasks/live1/preview?wait=ready&timeout=30", token: loop.reader)
            let took = ContinuousClock.now - start
            #expect(waited.status == 200)
            let status = try #require(waited.json?["status"] as? [String: Any])
            #expect(status["ready"] as? Bool == true, "\(status)")
            #expect(status["sync"] as? String == "Synced" && status["health"] as? String == "Healthy")
            #expect(status["revision"] as? String == commit)
            #expect(status["operation"] as? String == "Succeeded")
            #expect(took < .seconds(15), "waited \(took) for a 1 s sync")
            let app = try #require(try loop.argo.app("preview-task-live1"))
            #expect(app.sync == "Synced" && app.health == "Healthy")

            // Plain read: the status, no wait.
            let read = try await api.send("GET", "/api/tasks/live1/preview", token: loop.reader)
            #expect((read.json?["status"] as? [String: Any])?["ready"] as? Bool == true)
            #expect((read.json?["status"] as? [String: Any])?["checkedAt"] as? String != nil)

            // Failed: Degraded after its sync: the wait returns early with ready false.
            try loop.argo.plan("preview-task-sick1", health: "Degraded")
            _ = try await api.send("POST", "/api/tasks/sick1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            let sickStart = ContinuousClock.now
            let sick = try await api.send("GET", "/api/tasks/sick1/preview?wait=ready&timeout=60", token: loop.reader)
            let sickTook = ContinuousClock.now - sickStart
            let sickStatus = try #require(sick.json?["status"] as? [String: Any])
            #expect(sickStatus["ready"] as? Bool == false && sickStatus["failed"] as? Bool == true, "\(sickStatus)")
            #expect(sickStatus["health"] as? String == "Degraded")
            #expect(sickTook < .seconds(30), "a Degraded preview ends the wait early, not at the 60 s timeout")

            // The operation fails (a PostSync smoke Job): early too.
            try loop.argo.plan("preview-task-smoke1", operation: "Failed")
            _ = try await api.send("POST", "/api/tasks/smoke1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            let smoke = try await api.send("GET", "/api/tasks/smoke1/preview?wait=ready&timeout=60", token: loop.reader)
            let smokeStatus = try #require(smoke.json?["status"] as? [String: Any])
            #expect(smokeStatus["failed"] as? Bool == true && smokeStatus["operation"] as? String == "Failed", "\(smokeStatus)")

            // Neither: at the timeout, with the last status.
            try loop.argo.plan("preview-task-slow1", freeze: true)
            _ = try await api.send("POST", "/api/tasks/slow1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            let slowStart = ContinuousClock.now
            let slow = try await api.send("GET", "/api/tasks/slow1/preview?wait=ready&timeout=2", token: loop.reader)
            let slowTook = ContinuousClock.now - slowStart
            let slowStatus = try #require(slow.json?["status"] as? [String: Any])
            #expect(slowStatus["ready"] as? Bool == false && slowStatus["failed"] as? Bool == false, "\(slowStatus)")
            #expect(slowStatus["sync"] as? String == "OutOfSync")
            #expect(slowTook >= .seconds(2), "answered at the timeout, not before")

            // The gate of preview → staging: a failed preview is refused, a ready one promoted.
            let fromSick = try await api.send("POST", "/api/promote", token: loop.releaseManager, json: #"{"from": "preview/task-sick1", "to": "staging"}"#)
            #expect(fromSick.status == 409 && fromSick.errorCode == "source_not_ready", "\(String(decoding: fromSick.data, as: UTF8.self))")
            let fromLive = try await api.send("POST", "/api/promote", token: loop.releaseManager, json: #"{"from": "preview/task-live1", "to": "staging"}"#)
            #expect(fromLive.status == 201 && fromLive.json?["gate"] as? String == "ready", "\(String(decoding: fromLive.data, as: UTF8.self))")
            let promoted = try #require(fromLive.json?["commit"] as? String)
            #expect(try loop.h.remote.git(["log", "-1", "--format=%B", promoted]).contains("Gate: preview/task-live1 ready at "))

            // Bad parameters are 400s naming the parameter; a missing preview is a 404 first.
            #expect(try await api.send("GET", "/api/tasks/live1/preview?wait=synced", token: loop.reader).errorCode == "invalid_wait")
            #expect(try await api.send("GET", "/api/tasks/live1/preview?wait=ready&timeout=601", token: loop.reader).errorCode == "invalid_timeout")
            #expect(try await api.send("GET", "/api/tasks/nope1/preview?wait=ready", token: loop.reader).status == 404)
        }
    }

    @Test("50 waiters on one preview cost Argo CD no more reads than one waiter")
    func waitersShareOneWatch() async throws {
        let loop = try ArgoLoop()
        try await loop.h.withServer(extraConfig: loop.argocdConfig()) { api, _ in
            try loop.argo.plan("preview-task-many1", freeze: true)
            _ = try await api.send("POST", "/api/tasks/many1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            // Let the notifier's refresh land first, so the counts below are the waits' alone.
            #expect(try loop.argo.waitFor(10) { try loop.applicationReads("preview-task-many1").contains { $0.refresh == "normal" } })
            try loop.argo.resetRequests()
            _ = try await api.send("GET", "/api/tasks/many1/preview?wait=ready&timeout=3", token: loop.reader)
            let one = try loop.applicationReads("preview-task-many1").count
            try loop.argo.resetRequests()
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<50 {
                    group.addTask { try await api.send("GET", "/api/tasks/many1/preview?wait=ready&timeout=3", token: loop.reader).status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let fifty = try loop.applicationReads("preview-task-many1").count
            #expect(statuses.count == 50 && statuses.allSatisfy { $0 == 200 })
            #expect(one >= 2, "one waiter polls more than once in 3 s (\(one))")
            #expect(fifty <= one + 1, "50 waiters: \(fifty) reads; one waiter: \(one)")
        }
    }

    @Test("promote is refused with 409 source_not_ready while staging is Progressing, Degraded, OutOfSync or behind; ready or forced, it promotes")
    func promotionGate() async throws {
        let loop = try ArgoLoop()
        let cli = try loop.h.remote.config(name: "cli", cache: "cli-cache").path
        try await loop.h.withServer(extraConfig: loop.argocdConfig()) { api, _ in
            let deployed = try await api.send("POST", "/api/environments/staging/deploy", token: loop.deployer, json: ArgoLoop.pinned("a"))
            #expect(deployed.status == 201)
            let stagingCommit = try #require(deployed.json?["commit"] as? String)
            _ = try loop.waitForApp("staging-aiworker") { $0.sync == "Synced" && $0.revision == stagingCommit && $0.health == "Healthy" }
            let env = try await api.send("GET", "/api/environments/staging", token: loop.reader)
            #expect((env.json?["status"] as? [String: Any])?["ready"] as? Bool == true, "\(String(decoding: env.data, as: UTF8.self))")
            let promote = #"{"from": "staging", "to": "production"}"#

            func refused(_ why: String) async throws {
                let tip = loop.h.remote.tip
                let answer = try await api.send("POST", "/api/promote", token: loop.releaseManager, json: promote)
                #expect(answer.status == 409, "\(why): \(String(decoding: answer.data, as: UTF8.self))")
                #expect(answer.errorCode == "source_not_ready")
                let message = ((answer.json?["error"] as? [String: Any])?["message"] as? String) ?? ""
                #expect(message.contains(why), "\(message) names \(why)")
                #expect(loop.h.remote.tip == tip, "nothing is committed on a refusal")
            }

            // Progressing after its sync.
            try loop.argo.plan("staging-aiworker", health: "Progressing")
            let second = try await api.send("POST", "/api/environments/staging/deploy", token: loop.deployer, json: ArgoLoop.pinned("b"))
            let secondCommit = try #require(second.json?["commit"] as? String)
            _ = try loop.waitForApp("staging-aiworker") { $0.revision == secondCommit && $0.sync == "Synced" && !$0.syncing }
            try await refused("Progressing")
            // Degraded.
            try loop.argo.plan("staging-aiworker", health: "Degraded")
            _ = try loop.waitForApp("staging-aiworker") { $0.health == "Degraded" }
            try await refused("Degraded")
            // OutOfSync: the next change is not synced.
            try loop.argo.plan("staging-aiworker", health: "Healthy", freeze: true)
            let third = try await api.send("POST", "/api/environments/staging/deploy", token: loop.deployer, json: ArgoLoop.pinned("c"))
            let thirdCommit = try #require(third.json?["commit"] as? String)
            _ = try loop.waitForApp("staging-aiworker") { $0.revision == thirdCommit && $0.sync == "OutOfSync" }
            try await refused("OutOfSync")
            // Ready again, then a change Argo CD has not seen (pushed without notification): behind.
            try loop.argo.plan("staging-aiworker", freeze: false)
            _ = try loop.waitForApp("staging-aiworker") { $0.revision == thirdCommit && $0.sync == "Synced" && $0.health == "Healthy" && !$0.syncing }
            let quiet = try loop.h.remote.manifestor(["deploy", "staging", "--image", "backend=\(ReplicaConsistencyTests.digest("backend", "d"))",
                                                      "--config", cli])
            #expect(quiet.status == 0, "\(quiet.stderr)")
            try await refused("older than the last change")

            // Forced, with a reason: promoted, and the commit says so.
            let noReason = try await api.send("POST", "/api/promote", token: loop.releaseManager, json: #"{"from": "staging", "to": "production", "force": true}"#)
            #expect(noReason.status == 400 && noReason.errorCode == "invalid_reason")
            let byDeployer = try await api.send("POST", "/api/promote", token: loop.deployer,
                                                json: #"{"from": "staging", "to": "production", "force": true, "reason": "hotfix"}"#)
            #expect(byDeployer.status == 403)
            let forced = try await api.send("POST", "/api/promote", token: loop.releaseManager,
                                            json: #"{"from": "staging", "to": "production", "force": true, "reason": "hotfix for the login outage"}"#)
            #expect(forced.status == 201, "\(String(decoding: forced.data, as: UTF8.self))")
            #expect(forced.json?["gate"] as? String == "forced")
            let forcedCommit = try #require(forced.json?["commit"] as? String)
            #expect(try loop.h.remote.git(["log", "-1", "--format=%B", forcedCommit]).contains("Gate: forced: hotfix for the login outage"))

            // Ready once Argo CD has caught up: promoted with the gate recorded.
            let staging = try #require(try await api.send("GET", "/api/environments/staging", token: loop.reader).json?["commit"] as? String)
            // Sync it by hand (`argocd app sync`), unless a sync is already under way.
            try? loop.argo.sync("staging-aiworker")
            _ = try loop.waitForApp("staging-aiworker") { $0.revision == loop.h.remote.tip && $0.sync == "Synced" && $0.health == "Healthy" && !$0.syncing }
            let redeploy = try await api.send("POST", "/api/environments/staging/deploy", token: loop.deployer, json: ArgoLoop.pinned("e"))
            let last = try #require(redeploy.json?["commit"] as? String)
            _ = try loop.waitForApp("staging-aiworker") { $0.revision == last && $0.sync == "Synced" && $0.health == "Healthy" && !$0.syncing }
            #expect(staging != last)
            let passed = try await api.send("POST", "/api/promote", token: loop.releaseManager, json: promote)
            #expect(passed.status == 201, "\(String(decoding: passed.data, as: UTF8.self))")
            #expect(passed.json?["gate"] as? String == "ready")
            let passedCommit = try #require(passed.json?["commit"] as? String)
            #expect(try loop.h.remote.git(["log", "-1", "--format=%B", passedCommit]).contains("Gate: staging ready at \(last)"))
        }
    }

    @Test("without argocd.server the gate is off (gate: unchecked), no status is read, and wait=ready is a 409")
    func gateUnchecked() async throws {
        let h = try ServerHarness()
        try await h.withServer { api, _ in
            _ = try await api.send("POST", "/api/environments/staging/deploy", token: h.tokens["deployer"]!, json: ArgoLoop.pinned("a"))
            let passed = try await api.send("POST", "/api/promote", token: h.tokens["release-manager"]!, json: #"{"from": "staging", "to": "production"}"#)
            #expect(passed.status == 201)
            #expect(passed.json?["gate"] as? String == "unchecked")
            let commit = try #require(passed.json?["commit"] as? String)
            #expect(try !h.remote.git(["log", "-1", "--format=%B", commit]).contains("Gate:"))
            let env = try await api.send("GET", "/api/environments/production", token: h.tokens["reader"]!)
            #expect(env.status == 200 && env.json?["status"] == nil)
            let wait = try await api.send("GET", "/api/environments/production?wait=ready", token: h.tokens["reader"]!)
            #expect(wait.status == 409 && wait.errorCode == "wait_unavailable")
        }
    }

    @Test("a token Argo CD refuses: status carries the error, the read answers 200")
    func refusedToken() async throws {
        let loop = try ArgoLoop()
        try "not-the-token".write(to: loop.h.remote.work.appendingPathComponent("wrong.token"), atomically: true, encoding: .utf8)
        try await loop.h.withServer(extraConfig: loop.argocdConfig(tokenFile: "wrong.token")) { api, _ in
            _ = try await api.send("POST", "/api/tasks/tok1/deploy-preview", token: loop.deployer, json: ArgoLoop.backend("a"))
            let read = try await api.send("GET", "/api/tasks/tok1/preview", token: loop.reader)
            #expect(read.status == 200)
            let status = try #require(read.json?["status"] as? [String: Any])
            #expect((status["error"] as? String)?.contains("401") == true, "\(status)")
            #expect(try loop.argo.requests().contains { $0.kind == "application" && !$0.authorized && $0.status == 401 })
            #expect(!String(decoding: read.data, as: UTF8.self).contains("not-the-token"))
        }
    }

    @Test("manifestor status: exit 0 ready, 3 failed, 2 unreachable; promote --force --reason")
    func statusCommand() async throws {
        let loop = try ArgoLoop()
        let config = try loop.h.remote.config(name: "cli", cache: "cli-cache", extra: loop.argocdConfig()).path
        try loop.argo.plan("preview-task-bad1", health: "Degraded")
        for id in ["ok1", "bad1"] {
            let deploy = try loop.h.remote.manifestor(["deploy-preview", id, "--image", "backend=git.fuq.tv/admin/aiworker-backend:a", "--config", config])
            #expect(deploy.status == 0, "\(deploy.stderr)")
        }
        // The CLI notified Argo CD before it exited: both Applications exist.
        #expect(try loop.argo.app("preview-task-ok1") != nil && loop.argo.app("preview-task-bad1") != nil)
        let ready = try loop.h.remote.manifestor(["status", "preview", "ok1", "--wait", "--timeout", "30s", "--config", config])
        #expect(ready.status == 0, "\(ready.stdout) \(ready.stderr)")
        #expect(ready.stdout.hasPrefix("ready preview-task-ok1 Synced Healthy"))
        let bad = try loop.h.remote.manifestor(["status", "preview", "bad1", "--wait", "--timeout", "30s", "--json", "--config", config])
        #expect(bad.status == 3, "\(bad.stdout) \(bad.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(bad.stdout.utf8)) as? [String: Any])
        #expect(json["failed"] as? Bool == true && json["health"] as? String == "Degraded")

        // Staging runs nothing yet: not ready (3); forced promotion needs a reason.
        let staging = try loop.h.remote.manifestor(["status", "staging", "--config", config])
        #expect(staging.status == 3, "\(staging.stdout) \(staging.stderr)")
        _ = try loop.h.remote.manifestor(["deploy", "staging", "--image", "backend=\(ReplicaConsistencyTests.digest("backend", "a"))",
                                          "--image", "frontend=\(ReplicaConsistencyTests.digest("frontend", "a"))", "--config", config])
        try loop.argo.plan("staging-aiworker", freeze: true)
        _ = try loop.h.remote.manifestor(["deploy", "staging", "--image", "backend=\(ReplicaConsistencyTests.digest("backend", "b"))", "--config", config])
        let refused = try loop.h.remote.manifestor(["promote", "staging", "production", "--config", config])
        #expect(refused.status == 1 && refused.stderr.contains("not ready"), "\(refused.stderr)")
        let noReason = try loop.h.remote.manifestor(["promote", "staging", "production", "--force", "--config", config])
        #expect(noReason.status == 1 && noReason.stderr.contains("reason"))
        let forced = try loop.h.remote.manifestor(["promote", "staging", "production", "--force", "--reason", "release train", "--config", config])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try loop.h.remote.git(["log", "-1", "--format=%B", "main"]).contains("Gate: forced: release train"))

        loop.argo.stop()
        let down = try loop.h.remote.manifestor(["status", "preview", "ok1", "--config", config])
        #expect(down.status == 2, "\(down.stdout) \(down.stderr)")
    }
}

@Suite("Argo CD config")
struct ArgoCDConfigTests {
    func load(_ argocd: String, environment: [String: String] = [:]) throws -> ManifestorConfig {
        let dir = try RenderFixtures.temporaryDirectory()
        try "s3cr3t-token\n".write(to: dir.appendingPathComponent("argocd.token"), atomically: true, encoding: .utf8)
        try "hook-secret\n".write(to: dir.appendingPathComponent("hook.secret"), atomically: true, encoding: .utf8)
        let file = dir.appendingPathComponent("m.yaml")
        try "repository: {url: \(dir.path)/remote.git}\nargocd:\n\(argocd)".write(to: file, atomically: true, encoding: .utf8)
        return try ManifestorConfig.load(path: file.path, environment: environment)
    }

    func rule(_ argocd: String, environment: [String: String] = [:]) -> String {
        do { _ = try load(argocd, environment: environment); return "accepted" } catch { return "\(error)" }
    }

    @Test("argocd.server and the webhook must be http(s) URLs; a server needs a token; secrets are read at load and never shown")
    func validation() throws {
        let good = try load("  server: https://argocd.example/\n  tokenFile: argocd.token\n  applicationSetWebhook: http://appset:7000/api/webhook\n  webhookSecretFile: hook.secret\n")
        let link = try #require(good.argocdLink)
        #expect(link.server == "https://argocd.example" && link.token == "s3cr3t-token" && link.webhookSecret == "hook-secret")
        #expect(!"\(link)".contains("s3cr3t") && !"\(link)".contains("hook-secret"))
        #expect(try load("  namespace: argocd\n").argocdLink == nil, "no server and no webhook: no link")
        #expect(try load("  server: http://argocd\n", environment: ["MANIFESTOR_ARGOCD_TOKEN": "from-env"]).argocdLink?.token == "from-env")
        #expect(rule("  server: ftp://argocd\n  tokenFile: argocd.token\n").contains("argocd.server"))
        #expect(rule("  server: https://user:pw@argocd\n  tokenFile: argocd.token\n").contains("no credentials"))
        #expect(rule("  applicationSetWebhook: appset:7000\n").contains("argocd.applicationSetWebhook"))
        #expect(rule("  server: https://argocd\n").contains("argocd.tokenFile"))
        #expect(rule("  server: https://argocd\n  tokenFile: missing.token\n").contains("cannot read"))
        #expect(rule("  server: https://argocd\n  tokenFile: argocd.token\n  timeoutSeconds: 0\n").contains("argocd.timeoutSeconds"))
        #expect(rule("  server: https://argocd\n  tokenFile: argocd.token\n  sever: x\n").contains("sever"), "unknown keys are errors")
    }
}
