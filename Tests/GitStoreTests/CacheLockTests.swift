import Foundation
import Testing
@testable import GitStore
@testable import GitWire

@Suite struct CacheLockTests {
    @Test func excludesASecondAcquirerUntilReleased() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("cache/manifestor.lock")
        let held = try CacheLock.acquire(path: path, timeoutSeconds: 1)

        let start = Date()
        let error = gitError { _ = try CacheLock.acquire(path: path, timeoutSeconds: 0.3) }
        let waited = Date().timeIntervalSince(start)
        #expect(error?.kind == .locked)
        #expect(waited >= 0.25 && waited < 2, "waited \(waited)")

        // Another process sees it held too.
        #expect(throws: (any Error).self) { try run("/usr/bin/env", ["flock", "-n", path, "true"]) }

        held.release()
        held.release()  // idempotent
        let again = try CacheLock.acquire(path: path, timeoutSeconds: 0.3)
        again.release()
        try run("/usr/bin/env", ["flock", "-n", path, "true"])
    }

    @Test func aWaiterGetsTheLockWhenItIsReleased() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("manifestor.lock")
        let held = try CacheLock.acquire(path: path, timeoutSeconds: 1)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { held.release() }
        let start = Date()
        let waiter = try CacheLock.acquire(path: path, timeoutSeconds: 5)
        #expect(Date().timeIntervalSince(start) < 2)
        waiter.release()
    }

    @Test func deinitReleases() throws {
        let temp = try TemporaryDirectory()
        let path = temp.sub("manifestor.lock")
        do {
            _ = try CacheLock.acquire(path: path, timeoutSeconds: 1)
        }
        let again = try CacheLock.acquire(path: path, timeoutSeconds: 0.2)
        again.release()
    }
}
