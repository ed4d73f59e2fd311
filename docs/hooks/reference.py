from mkdocs.structure.files import File


def on_files(files, config):
    for uri in ("reference/model-file.md", "reference/sweep-file.md", "decisions/index.md"):
        files.append(File.generated(config, uri, content=f"# {uri}\n"))
    return files
