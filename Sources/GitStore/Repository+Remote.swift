import CLibGit2
import Foundation
import HTTPTransport
import GitWire

/// Fetch and push through an anonymous remote (nothing is written to the repository's config).
extension Repository {
    /// Where `push` keeps the temporary references for commit-id sources.
    static let temporaryPushPrefix = "refs/manifestor/push/"

    /// Downloads `refspecs` (e.g. `["+refs/heads/main:refs/remotes/origin/main"]`) and updates the
    /// local references they name. No tags, no FETCH_HEAD, no pruning. A source branch the remote
    /// does not have is skipped silently (the local reference stays as it is).
    ///
    /// http and https are spoken on `HTTPClient` (bounded, `remote.caFile` per request); other
    /// transports go through libgit2, where `remote.caFile` is installed process-wide.
    public func fetch(_ remote: RemoteOptions, refspecs: [String]) throws {
        let operation = "fetch"
        if let client = SmartHTTPClient(remote: remote, operation: operation),
           try fetchOverSmartHTTP(client, refspecs: refspecs, operation: operation) {
            return
        }
        try withRemote(remote, operation: operation) { handle, context in
            var options = git_fetch_options()
            try gitCall(operation) { git_fetch_options_init(&options, UInt32(GIT_FETCH_OPTIONS_VERSION)) }
            context.callbacks(into: &options.callbacks)
            options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE
            options.prune = GIT_FETCH_NO_PRUNE
            options.update_fetchhead = 0
            return withStringArray(refspecs) { specs in
                git_remote_fetch(handle, &specs, &options, nil)
            }
        }
    }

    /// Pushes `refspecs` such as `["<40-hex commit id>:refs/heads/main"]` or
    /// `["refs/heads/x:refs/heads/x"]`, never forced ("+" is rejected). A ref update the remote
    /// refuses (whatever its wording) or a non-fast-forward throws `.refused`.
    ///
    /// `expectedRemote` makes the push a compare-and-swap: for each destination ref it names,
    /// the remote must hold exactly that commit (nil: the ref must not exist), else `.refused`
    /// and nothing is sent. Without it, only fast-forwards are checked.
    public func push(_ remote: RemoteOptions, refspecs: [String], expectedRemote: [String: ObjectID?] = [:]) throws {
        let operation = "push"
        // libgit2 1.5 only pushes references ("no such reference '<hex>'"): a commit id source is
        // pushed through a temporary local reference, removed afterwards.
        var temporaryReferences: [String] = []
        defer {
            for name in temporaryReferences { try? deleteReference(name) }
        }
        var resolved: [String] = []
        for spec in refspecs {
            let parts = spec.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2, !spec.hasPrefix("+"), !parts[1].isEmpty else {
                throw GitError(kind: .invalidInput,
                               message: "invalid push refspec \(spec.debugDescription) (want SRC:DST, not forced)",
                               operation: operation)
            }
            if let id = ObjectID(hex: String(parts[0])) {
                let name = "\(Self.temporaryPushPrefix)\(getpid())-\(UUID().uuidString.prefix(8).lowercased())"
                do {
                    try updateReference(name, to: id, expected: nil, message: "push")
                } catch var error as GitError {
                    error.operation = operation
                    throw error
                }
                temporaryReferences.append(name)
                resolved.append("\(name):\(parts[1])")
            } else {
                resolved.append(spec)
            }
        }
        try withRemote(remote, operation: operation, expectedRemote: expectedRemote) { handle, context in
            var options = git_push_options()
            try gitCall(operation) { git_push_options_init(&options, UInt32(GIT_PUSH_OPTIONS_VERSION)) }
            context.callbacks(into: &options.callbacks)
            return withStringArray(resolved) { specs in
                git_remote_push(handle, &specs, &options)
            }
        }
    }

    /// Creates an anonymous remote and runs `body` (one fetch or push) with callbacks bound to a
    /// context; maps failures, including those the callbacks recorded, to `GitError`.
    private func withRemote(
        _ remote: RemoteOptions, operation: String, expectedRemote: [String: ObjectID?] = [:],
        _ body: (OpaquePointer, RemoteCallContext) throws -> Int32
    ) throws {
        try Self.withRemote(remote, in: pointer, operation: operation, expectedRemote: expectedRemote, body)
    }

    /// `withRemote` for a repository, or with none (`repository` nil: a detached remote, which
    /// can only list the remote's references).
    fileprivate static func withRemote(
        _ remote: RemoteOptions, in repository: OpaquePointer?, operation: String, expectedRemote: [String: ObjectID?] = [:],
        _ body: (OpaquePointer, RemoteCallContext) throws -> Int32
    ) throws {
        guard !remote.url.isEmpty, !remote.url.contains("\0") else {
            throw GitError(kind: .invalidInput, message: "empty or invalid remote URL", operation: operation)
        }
        if let caFile = remote.caFile {
            try useCertificateAuthorityFile(caFile, operation: operation)
        }
        if let endpoint = RemoteEndpoint(url: remote.url) {
            do {
                try endpoint.checkReachable(timeout: Double(max(1, remote.timeoutSeconds)))
            } catch let failure as RemoteEndpoint.Unreachable {
                throw GitError(kind: .unreachable, message: failure.reason, operation: operation)
            }
        }
        var handle: OpaquePointer?
        git_error_clear()
        var code = repository.map { git_remote_create_anonymous(&handle, $0, remote.url) }
            ?? git_remote_create_detached(&handle, remote.url)
        if code < 0 {
            throw GitError.lastError(code, operation: operation, network: false, secrets: remote.secrets)
        }
        defer { git_remote_free(handle) }
        let context = RemoteCallContext(remote: remote)
        context.expectedRemote = expectedRemote
        git_error_clear()
        code = try withExtendedLifetime(context) { try body(handle!, context) }
        // Read libgit2's message at once, before any other call.
        let failure = code < 0
            ? GitError.lastError(code, operation: operation, network: true, secrets: remote.secrets) : nil
        if let stale = context.staleExpectation {
            throw GitError(kind: .refused, code: code, message: "the remote moved: \(stale)", operation: operation)
        }
        if let reason = context.authenticationFailure {
            throw GitError(kind: .authentication, code: code, message: reason, operation: operation)
        }
        if var failure {
            if code == GIT_EUSER.rawValue && failure.message.hasPrefix("libgit2 error") {
                failure.message = "\(operation) of \(remote.redactedURL) was cancelled"
            }
            throw failure
        }
        if !context.refusedUpdates.isEmpty {
            let details = context.refusedUpdates.map { "\($0.reference): \($0.status)" }.joined(separator: "; ")
            throw GitError(kind: .refused, code: 0,
                           message: redactingCredentials(in: details, secrets: remote.secrets), operation: operation)
        }
    }
}

/// Calls `body` with a `git_strarray` of copies of `strings`, freed afterwards.
func withStringArray<T>(_ strings: [String], _ body: (inout git_strarray) throws -> T) rethrows -> T {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { pointers.forEach { free($0) } }
    return try pointers.withUnsafeMutableBufferPointer { buffer in
        var array = git_strarray(strings: buffer.baseAddress, count: buffer.count)
        return try body(&array)
    }
}

extension Repository {
    /// Where `reference` (e.g. `refs/heads/main`) stands on the remote right now (nil: it does
    /// not exist), read from the remote's reference advertisement: one round trip, nothing
    /// downloaded, nothing written locally. Plain http:// asks the smart-HTTP server directly;
    /// every other transport (and a redirect) goes through libgit2's connect and ls.
    public func remoteReference(_ remote: RemoteOptions, _ reference: String) throws -> ObjectID? {
        try Self.remoteReference(remote, reference, in: pointer)
    }

    /// `remoteReference` without a local repository, for threads that do not own one (the
    /// freshness check of reads).
    public static func remoteReference(_ remote: RemoteOptions, _ reference: String) throws -> ObjectID? {
        ensureLibgit2()
        return try remoteReference(remote, reference, in: nil)
    }

    private static func remoteReference(_ remote: RemoteOptions, _ reference: String, in repository: OpaquePointer?) throws -> ObjectID? {
        let operation = "ls-remote"
        if let client = SmartHTTPClient(remote: remote, operation: operation),
           let advertised = try client.advertisement(service: "git-upload-pack") {
            return advertised.references[reference]
        }
        var found: ObjectID?
        try withRemote(remote, in: repository, operation: operation) { handle, context in
            var callbacks = git_remote_callbacks()
            var code = git_remote_init_callbacks(&callbacks, UInt32(GIT_REMOTE_CALLBACKS_VERSION))
            guard code == 0 else { return code }
            context.callbacks(into: &callbacks)
            code = git_remote_connect(handle, GIT_DIRECTION_FETCH, &callbacks, nil, nil)
            guard code == 0 else { return code }
            defer { git_remote_disconnect(handle) }
            var heads: UnsafeMutablePointer<UnsafePointer<git_remote_head>?>?
            var count = 0
            code = git_remote_ls(&heads, &count, handle)
            guard code == 0 else { return code }
            for index in 0..<count {
                guard let head = heads?[index], let name = head.pointee.name, String(cString: name) == reference else { continue }
                found = ObjectID(head.pointee.oid)
            }
            return 0
        }
        return found
    }
}
