import Foundation
@testable import GitStore
@testable import GitWire

/// A temporary folder removed when the value is deinitialised.
final class TemporaryDirectory {
    let path: String

    init() throws {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/gitstore-tests-\(UUID().uuidString.prefix(12))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func sub(_ name: String) -> String { "\(path)/\(name)" }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct CommandFailure: Error, CustomStringConvertible {
    var description: String
}

/// Runs the git CLI (tests only: the product never does) and returns its standard output.
@discardableResult
func git(_ arguments: String..., input: String? = nil) throws -> String {
    try run("/usr/bin/env", ["git", "-c", "safe.directory=*", "-c", "init.defaultBranch=main"] + arguments)
}

@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_AUTHOR_NAME"] = "Test"
    env["GIT_AUTHOR_EMAIL"] = "test@example.com"
    env["GIT_COMMITTER_NAME"] = "Test"
    env["GIT_COMMITTER_EMAIL"] = "test@example.com"
    env.merge(environment) { $1 }
    process.environment = env
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let errorData = errors.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw CommandFailure(description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus): "
            + String(decoding: errorData, as: UTF8.self))
    }
    return String(decoding: data, as: UTF8.self)
}

let testAuthor = Signature(name: "Manifestor", email: "manifestor@aiworker.dev",
                           date: Date(timeIntervalSince1970: 1_700_000_000))

extension Repository {
    /// makeCommit with the test author, expecting a commit.
    func commit(parent: ObjectID?, _ changes: [TreeChange], message: String = "test") throws -> ObjectID {
        guard let id = try makeCommit(parent: parent, changes: changes, author: testAuthor, committer: testAuthor,
                                      message: message)
        else { throw CommandFailure(description: "makeCommit made no commit") }
        return id
    }
}

extension Data {
    init(_ text: String) { self = Data(text.utf8) }
}

func up(_ path: String, _ text: String) -> TreeChange { .upsert(path: path, content: Data(text)) }

/// The kind of the GitError thrown by `body`, or nil when it did not throw one.
func gitErrorKind(_ body: () throws -> Void) -> GitError.Kind? {
    do {
        try body()
        return nil
    } catch let error as GitError {
        return error.kind
    } catch {
        return nil
    }
}

func gitError(_ body: () throws -> Void) -> GitError? {
    do {
        try body()
        return nil
    } catch let error as GitError {
        return error
    } catch {
        return nil
    }
}

#if canImport(Glibc)
import Glibc
let tcpStreamType = Int32(SOCK_STREAM.rawValue)
#elseif canImport(Darwin)
import Darwin
let tcpStreamType = SOCK_STREAM
#endif

/// A TCP port on 127.0.0.1 whose accept queue is full: further connection attempts get no
/// answer at all (the kernel drops their SYN), like a host behind a firewall that drops packets.
final class StalledListener {
    let port: Int
    private var descriptors: [Int32] = []

    init() throws {
        let listener = socket(AF_INET, tcpStreamType, 0)
        descriptors.append(listener)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ready = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listener, pointer, length) == 0 && listen(listener, 0) == 0
                    && getsockname(listener, pointer, &length) == 0
            }
        }
        guard ready else { throw CommandFailure(description: "cannot listen") }
        port = Int(UInt16(bigEndian: address.sin_port))
        // Fill the accept queue; never accept.
        for _ in 0..<3 {
            let client = socket(AF_INET, tcpStreamType, 0)
            descriptors.append(client)
            _ = fcntl(client, F_SETFL, O_NONBLOCK)
            _ = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
            }
        }
        Thread.sleep(forTimeInterval: 0.1)
    }

    deinit {
        descriptors.forEach { close($0) }
    }
}
