import ArgumentParser
import Foundation
import KubeModel
import Templates

/// `--templates DIR`: where the catalog lives.
struct TemplateOptions: ParsableArguments {
    @Option(name: .long, help: "The templates folder (default: the config's `templates`, else ./templates).")
    var templates: String?

    func catalog(configTemplates: URL? = nil) throws -> Catalog {
        let dir = templates.map { URL(fileURLWithPath: $0) } ?? configTemplates ?? URL(fileURLWithPath: "templates")
        return try Catalog.load(directory: dir)
    }
}

/// `--image SERVICE=REF`, repeatable.
struct ImageOptions: ParsableArguments {
    @Option(name: .customLong("image"), help: ArgumentHelp("An image for a service, as SERVICE=REF. Repeatable.", valueName: "SERVICE=REF"))
    var images: [String] = []

    func parsed() throws -> [String: String] {
        var out: [String: String] = [:]
        for item in images {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw InputError(code: "invalid_image", field: "--image \(item)", rule: "must be SERVICE=REF", kind: .unprocessable)
            }
            let service = String(item[..<eq])
            guard out[service] == nil else {
                throw InputError(code: "invalid_image", field: "--image \(service)", rule: "is given more than once", kind: .unprocessable)
            }
            out[service] = String(item[item.index(after: eq)...])
        }
        return out
    }
}

func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}
