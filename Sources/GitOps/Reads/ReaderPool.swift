import Foundation
import GitStore
import GitWire

/// Repository instances of the cache opened for reading, each used by one thread at a time, so
/// that reads run beside the git thread instead of behind it. Objects are immutable and found
/// by id, so a reader at a tip the git thread has confirmed reads exactly what that tip holds,
/// whatever the git thread writes meanwhile. An instance that fails (a cache rebuilt under it)
/// is dropped; the next read opens a new one.
final class ReaderPool: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    private var idle: [Repository] = []
    private let maxIdle: Int
    private let queue: DispatchQueue

    init(path: String, maxIdle: Int = 4, label: String) {
        self.path = path
        self.maxIdle = maxIdle
        queue = DispatchQueue(label: label, qos: .userInitiated, attributes: .concurrent)
    }

    /// Runs `body` on a reader thread with an instance of its own, and answers its result.
    func read<T: Sendable>(_ body: @escaping @Sendable (Repository) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
            queue.async { [self] in continuation.resume(with: Result { try self.withInstance(body) }) }
        }
    }

    /// Runs `body` with an idle instance (or a new one) on the calling thread.
    func withInstance<T>(_ body: (Repository) throws -> T) throws -> T {
        let repository = try lock.withLock { idle.popLast() } ?? Repository.openForReading(at: path)
        do {
            let result = try body(repository)
            giveBack(repository)
            return result
        } catch let error as GitError {
            // Not given back: an instance whose folder was replaced keeps failing.
            throw error
        } catch {
            giveBack(repository)
            throw error
        }
    }

    private func giveBack(_ repository: Repository) {
        lock.withLock { if idle.count < maxIdle { idle.append(repository) } }
    }
}
