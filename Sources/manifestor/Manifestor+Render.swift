import ArgumentParser
import Foundation
import KubeModel
import Templates

extension Manifestor {
    struct Render: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Render one environment's manifests into a folder (one object per file) or to stdout.",
            discussion: """
            Examples:
              manifestor render --env preview --task abc123 --image backend=git.fuq.tv/admin/aiworker-backend:1.2 --out out/
              manifestor render --env production --image backend=REPO@sha256:... --image frontend=REPO@sha256:... --out -
            """
        )

        @Option(help: "preview, staging or production.")
        var env: String

        @Option(help: "The task id (previews only).")
        var task: String?

        @OptionGroup var images: ImageOptions
        @OptionGroup var templateOptions: TemplateOptions

        @Option(help: "Preview time to live, e.g. 7d or 12h (default: the catalog's).")
        var ttl: String?

        @Option(help: "The clock for the preview's expiry, RFC 3339 (default: now).")
        var now: String?

        @Flag(help: "Accept production images without a digest.")
        var allowTag = false

        @Option(help: "The output folder, or - for one multi-document stream on stdout.")
        var out: String

        func run() async throws {
            guard let environment = EnvironmentName(rawValue: env) else {
                throw InputError(code: "invalid_environment", field: "--env", rule: "must be preview, staging or production")
            }
            let catalog = try templateOptions.catalog()
            let renderer = Renderer(catalog: catalog)
            let requested = try images.parsed()
            let rendered: RenderedEnvironment
            switch environment {
            case .preview:
                guard let task else { throw InputError(code: "invalid_task_id", field: "--task", rule: "is required for a preview") }
                var clock = Date()
                if let now {
                    guard let parsed = RFC3339.parse(now) else {
                        throw InputError(code: "invalid_time", field: "--now", rule: "must be an RFC 3339 time such as 2026-01-02T03:04:05Z")
                    }
                    clock = parsed
                }
                rendered = try renderer.preview(taskID: task, images: requested, ttl: ttl, now: clock)
            case .staging, .production:
                if task != nil { throw InputError(code: "invalid_task_id", field: "--task", rule: "is only for previews") }
                if ttl != nil { throw InputError(code: "invalid_ttl", field: "--ttl", rule: "is only for previews") }
                rendered = try renderer.render(environment, images: requested, allowTag: allowTag)
            }
            if out == "-" {
                FileHandle.standardOutput.write(Data(rendered.stream.utf8))
            } else {
                try ManifestDirectory.sync(rendered.files, to: URL(fileURLWithPath: out))
                printLine("rendered \(rendered.objects.count) objects for \(rendered.directory) into \(out)")
            }
        }
    }
}
