import ArgumentParser
import Foundation
import GitOps
import KubeModel
import Templates

extension Manifestor {
    struct Previews: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the previews in task id order, a page at a time, as GET /api/previews does: task, project, expiry, images.",
            discussion: """
                Prints one line per preview, then `continue: TOKEN` when more follow; pass it back with --continue for \
                the next page, or give --all to print every page.
                """)

        @Option(help: "At most this many previews per page (1 to 1000).")
        var limit: Int = PreviewQuery.defaultLimit

        @Option(name: .customLong("continue"), help: "The token an earlier page printed: the page after it.")
        var continueToken: String?

        @Option(help: "Only the previews of this project.")
        var project: String?

        @Option(help: "Only previews that expire before this RFC 3339 time.")
        var expiringBefore: String?

        @Flag(help: "Follow every page to the end.")
        var all = false

        @OptionGroup var options: RepositoryOptions

        func run() async throws {
            var query = try PreviewQuery(limit: String(limit), continueToken: continueToken, project: project,
                                         expiringBefore: expiringBefore)
            let (config, catalog) = try options.load()
            let committer = options.committer(config, catalog)
            let domain = catalog.environments.preview.domain
            while true {
                let page = try await committer.previews(query, domain: domain)
                if options.json {
                    try options.printJSON(page)
                } else {
                    for preview in page.previews {
                        let images = preview.images.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                        printLine("\(preview.taskId) \(preview.project) \(preview.expiresAt ?? "-") \(images)")
                    }
                }
                guard all, let next = page.continue else {
                    if !options.json, let next = page.continue { printLine("continue: \(next)") }
                    return
                }
                query = try PreviewQuery(limit: String(limit), continueToken: next, project: project, expiringBefore: expiringBefore)
            }
        }
    }
}
