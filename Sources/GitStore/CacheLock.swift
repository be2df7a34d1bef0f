import Foundation
import GitWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An exclusive `flock(2)` on a lock file, so that several processes (two CLI runs, a CLI beside
/// the server) can share one cache folder. The lock belongs to the open file: it is released by
/// `release()`, by `deinit`, or by the kernel when the process dies, so a killed process never
/// leaves it held. Two `acquire` calls in one process also exclude each other.
public final class CacheLock: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var descriptor: Int32
    /// The process that held the lock last before this one (from the lock file; nil when unknown).
    public private(set) var previousOwner: Int32?

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit {
        release()
    }

    /// Waits up to `timeoutSeconds` for the lock (polling with a short backoff); throws `.locked`
    /// when someone else still holds it. Creates the lock file and its folder when missing.
    public static func acquire(path: String, timeoutSeconds: Double) throws -> CacheLock {
        let operation = "lock"
        let folder = (path as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw GitError(kind: .other, message: "cannot open lock file \(path): \(String(cString: strerror(errno)))",
                           operation: operation)
        }
        let deadline = Date().addingTimeInterval(max(0, timeoutSeconds))
        var pause = 0.005
        while true {
            if flock(descriptor, LOCK_EX | LOCK_NB) == 0 {
                let lock = CacheLock(path: path, descriptor: descriptor)
                lock.recordOwner()
                return lock
            }
            let reason = errno
            guard reason == EWOULDBLOCK || reason == EINTR else {
                close(descriptor)
                throw GitError(kind: .other, message: "cannot lock \(path): \(String(cString: strerror(reason)))",
                               operation: operation)
            }
            let remaining = deadline.timeIntervalSinceNow
            if remaining <= 0 {
                close(descriptor)
                throw GitError(kind: .locked,
                               message: "\(path) is locked by another process (waited \(timeoutSeconds) s)",
                               operation: operation)
            }
            Thread.sleep(forTimeInterval: min(pause, remaining))
            pause = min(pause * 2, 0.1)
        }
    }

    /// Releases the lock; later calls do nothing.
    public func release() {
        lock.lock()
        defer { lock.unlock() }
        guard descriptor >= 0 else { return }
        _ = flock(descriptor, LOCK_UN)
        close(descriptor)
        descriptor = -1
    }

    /// Writes "pid\n" into the lock file, for whoever wonders who holds it, after reading who
    /// held it before (`previousOwner`).
    private func recordOwner() {
        var previous = [UInt8](repeating: 0, count: 16)
        let count = previous.withUnsafeMutableBytes { pread(descriptor, $0.baseAddress, $0.count, 0) }
        if count > 0 {
            previousOwner = Int32(String(decoding: previous[..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        }
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
    }
}
