/// The OpenAPI 3.1 document of the API, served byte for byte at `/openapi.yaml` and committed as
/// `openapi.yaml` at the repository root (`manifestor openapi` prints it). Tests check that it is
/// valid, that the committed file is the same bytes, that every route the server registers is in
/// it, and that the `aiworker` routes' service enums name exactly the services of `templates/`.
public enum OpenAPIDocument {
    public static let yaml = #"""
openapi: 3.1.0
info:
  title: Manifestor
  version: 0.1.0
  description: |
    Renders Kubernetes manifests for AiWorker's preview, staging and production environments and
    commits them to the aiworker-gitops repository, for AiWorker itself (the built-in project
    aiworker) and every registered project: previews under preview/task-<id>/, staging/<project>/
    and production/<project>/. Routes under /api/projects/{project}/ work on one project; the
    older /api/environments/... and /api/promote work on aiworker. Every write is one commit;
    concurrent writes are batched into one push. A write on a repository still in the older
    layout (AiWorker's files directly in staging/) is a 409 older_layout until `manifestor
    migrate` has run. Roles: reader < deployer < release-manager.
security:
  - bearer: []
paths:
  /api/tasks/{id}/deploy-preview:
    post:
      operationId: deployPreview
      summary: Render and commit preview/task-{id}/ (deployer)
      parameters:
        - $ref: '#/components/parameters/TaskId'
      requestBody:
        required: true
        content:
          application/json:
            schema:
              $ref: '#/components/schemas/DeployPreviewRequest'
      responses:
        '200':
          description: Nothing changed (an identical re-deploy); no commit was made.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Preview'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Preview'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/tasks/{id}/preview:
    get:
      operationId: getPreview
      summary: The preview of a task (reader)
      description: >-
        With argocd.server in the config, status says how Argo CD runs the preview's Application
        (status.error when Argo CD could not be asked; the answer is still 200). With wait=ready
        the answer comes as soon as the preview is ready or has failed, else at the timeout.
      parameters:
        - $ref: '#/components/parameters/TaskId'
        - $ref: '#/components/parameters/Wait'
        - $ref: '#/components/parameters/WaitTimeout'
      responses:
        '200':
          description: The preview.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Preview'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
    delete:
      operationId: deletePreview
      summary: Remove preview/task-{id}/ in one commit (deployer)
      parameters:
        - name: dryRun
          in: query
          required: false
          description: Answer what the delete would commit, and commit nothing.
          schema: {type: boolean}
        - $ref: '#/components/parameters/TaskId'
      responses:
        '200':
          description: The preview that was removed, with the commit that removed it.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Preview'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/previews:
    get:
      operationId: listPreviews
      summary: The previews in task id order, a page at a time, with their images and expiry (reader)
      description: >-
        Answered from an index of the previews at the remote's current tip (a read after an
        acknowledged write sees it), never behind the writes. Pages resume after the last task id
        of the page before (`continue`), so a preview that exists throughout appears exactly once
        however previews are added or removed meanwhile.
      parameters:
        - name: limit
          in: query
          required: false
          description: At most this many previews (default 100).
          schema: {type: integer, minimum: 1, maximum: 1000, default: 100}
        - name: continue
          in: query
          required: false
          description: The `continue` of the page before (opaque; only a token the server gave is valid).
          schema: {type: string, pattern: '^[A-Za-z0-9_-]{1,512}$'}
        - name: project
          in: query
          required: false
          schema: {$ref: '#/components/schemas/ProjectName'}
        - name: expiringBefore
          in: query
          required: false
          description: Only previews that expire before this time (RFC 3339).
          schema: {type: string, format: date-time}
      responses:
        '200':
          description: One page of previews.
          content:
            application/json:
              schema:
                type: object
                required: [previews, count, total]
                properties:
                  previews:
                    type: array
                    items: {$ref: '#/components/schemas/Preview'}
                  count: {type: integer, description: The previews on this page.}
                  total: {type: integer, description: Every preview matching the filters.}
                  commit: {type: [string, 'null'], description: The commit the page was read at (null before the first commit).}
                  continue: {type: string, description: Pass as `continue` for the next page; absent on the last page.}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects:
    get:
      operationId: listProjects
      summary: The built-in project and every registered one (reader)
      responses:
        '200':
          description: The projects.
          content:
            application/json:
              schema:
                type: object
                required: [projects, count]
                properties:
                  projects:
                    type: array
                    items:
                      type: object
                      required: [project, builtIn, services]
                      properties:
                        project: {type: string}
                        builtIn: {type: boolean}
                        services: {type: array, items: {type: string}}
                  count: {type: integer}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}:
    put:
      operationId: putProject
      summary: Register or update a project's catalog as projects/{project}.yaml, checked by rendering it (deployer)
      parameters:
        - $ref: '#/components/parameters/Project'
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ProjectRequest'}
      responses:
        '200':
          description: The project was updated, or was already so (changed false).
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Project'}
        '201':
          description: The project was registered.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Project'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
    get:
      operationId: getProject
      summary: A project's catalog (reader)
      parameters:
        - $ref: '#/components/parameters/Project'
      responses:
        '200':
          description: The project.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Project'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
    delete:
      operationId: deleteProject
      summary: Remove projects/{project}.yaml in one commit; 409 while a preview of it exists (deployer)
      parameters:
        - $ref: '#/components/parameters/Project'
      responses:
        '200':
          description: The project that was removed, with the commit that removed it.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Project'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/environments/staging/deploy:
    post:
      operationId: deployStaging
      summary: Re-render staging/aiworker/ with the given images (deployer)
      description: |
        Services not named keep what staging runs. When a registry is configured, tags are pinned
        to digests before anything is queued (the tag stays in the aiworker.dev/image-tag
        annotation): a tag the registry doesn't have is a 422 naming the image, a registry that
        can't be reached a 503; neither commits anything.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/DeployEnvironmentRequest'}
      responses:
        '200':
          description: Nothing changed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/promote:
    post:
      operationId: promote
      summary: Promote what one environment runs to the next (release-manager)
      description: |
        For the aiworker project (the same as /api/projects/aiworker/promote):
        staging → production, or preview/task-<id> → staging. The target gets exactly the images
        (digests) the source runs; production refuses tags unless allowTag. With review, the commit
        goes to a new branch promote/<to>/<short-id> created from main's tip, and main is untouched.
        With argocd.server configured, the source's Application must be ready (Synced at the commit
        that last changed the source or later, Healthy, last operation not failed): else 409
        source_not_ready naming what fails, and nothing is committed; force with a reason promotes
        anyway. The commit's Gate trailer says which.
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/PromoteRequest'}
      responses:
        '200':
          description: Nothing differed, or the review branch was pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PromoteAnswer'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PromoteAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/environments/{env}/rollback:
    post:
      operationId: rollback
      summary: A new commit restoring an earlier state of aiworker's environment (release-manager)
      description: |
        to: previous restores the content before the last commit that changed the environment; a
        commit id restores the content right after that commit, which must have changed it (422
        otherwise, 404 for a commit not on the branch). Files are copied byte for byte.
      parameters:
        - $ref: '#/components/parameters/Environment'
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/RollbackRequest'}
      responses:
        '200':
          description: Nothing changed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/environments/{env}:
    get:
      operationId: getEnvironment
      summary: The images an environment runs and its last commit (reader)
      parameters:
        - $ref: '#/components/parameters/Environment'
        - $ref: '#/components/parameters/Wait'
        - $ref: '#/components/parameters/WaitTimeout'
      responses:
        '200':
          description: The environment.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/environments/{env}/history:
    get:
      operationId: getHistory
      summary: Past operations on an environment, newest first (reader)
      parameters:
        - $ref: '#/components/parameters/Environment'
        - name: limit
          in: query
          required: false
          description: At most this many entries (default 50).
          schema: {type: integer, minimum: 1, maximum: 1000}
      responses:
        '200':
          description: The history.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/History'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}/environments/staging/deploy:
    post:
      operationId: deployStagingOfProject
      summary: Re-render staging/<project>/ with the given images (deployer)
      description: |
        Services not named keep what staging runs. When a registry is configured, tags are pinned
        to digests before anything is queued (the tag stays in the aiworker.dev/image-tag
        annotation): a tag the registry doesn't have is a 422 naming the image, a registry that
        can't be reached a 503; neither commits anything.
      parameters:
        - $ref: '#/components/parameters/Project'
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ProjectDeployEnvironmentRequest'}
      responses:
        '200':
          description: Nothing changed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}/promote:
    post:
      operationId: promoteOfProject
      summary: Promote what one environment runs to the next (release-manager)
      description: |
        staging/<project> → production/<project>, or a preview of the project → staging/<project>
        (a preview of another project is a 422). The target gets exactly the images (digests) the
        source runs; production refuses tags unless allowTag. With review, the commit goes to a new
        branch promote/<project>/<to>/<short-id> created from main's tip, and main is untouched.
        With argocd.server configured, the source's Application must be ready, else 409
        source_not_ready naming what fails; force with a reason promotes anyway (Gate trailer).
      parameters:
        - $ref: '#/components/parameters/Project'
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ProjectPromoteRequest'}
      responses:
        '200':
          description: Nothing differed, or the review branch was pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PromoteAnswer'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/PromoteAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}/environments/{env}/rollback:
    post:
      operationId: rollbackOfProject
      summary: A new commit restoring an environment's earlier state (release-manager)
      description: |
        to: previous restores the content before the last commit that changed the environment; a
        commit id restores the content right after that commit, which must have changed it (422
        otherwise, 404 for a commit not on the branch). Files are copied byte for byte.
      parameters:
        - $ref: '#/components/parameters/Project'
        - $ref: '#/components/parameters/Environment'
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: '#/components/schemas/RollbackRequest'}
      responses:
        '200':
          description: Nothing changed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '201':
          description: A commit was made and pushed.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '413': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}/environments/{env}:
    get:
      operationId: getEnvironmentOfProject
      summary: The images an environment runs and its last commit (reader)
      parameters:
        - $ref: '#/components/parameters/Project'
        - $ref: '#/components/parameters/Environment'
        - $ref: '#/components/parameters/Wait'
        - $ref: '#/components/parameters/WaitTimeout'
      responses:
        '200':
          description: The environment.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/EnvironmentAnswer'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}/environments/{env}/history:
    get:
      operationId: getHistoryOfProject
      summary: Past operations on an environment, newest first (reader)
      parameters:
        - $ref: '#/components/parameters/Project'
        - $ref: '#/components/parameters/Environment'
        - name: limit
          in: query
          required: false
          description: At most this many entries (default 50).
          schema: {type: integer, minimum: 1, maximum: 1000}
      responses:
        '200':
          description: The history.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/History'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/environments/{env}/diff:
    get:
      operationId: getDiff
      summary: What an environment would change if it took FROM (reader)
      description: |
        from=staging or preview/task-<id>: the image changes and files a promotion would change;
        from=previous or a commit id: what a rollback to it would change. Nothing is committed.
      parameters:
        - $ref: '#/components/parameters/Environment'
        - name: from
          in: query
          required: true
          schema:
            type: string
            pattern: '^(staging|previous|preview/task-[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?|[0-9a-fA-F]{7,40})$'
      responses:
        '200':
          description: The difference.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Diff'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /api/projects/{project}/environments/{env}/diff:
    get:
      operationId: getDiffOfProject
      summary: What an environment would change if it took FROM (reader)
      description: |
        from=staging or preview/task-<id>: the image changes and files a promotion would change;
        from=previous or a commit id: what a rollback to it would change. Nothing is committed.
      parameters:
        - $ref: '#/components/parameters/Project'
        - $ref: '#/components/parameters/Environment'
        - name: from
          in: query
          required: true
          schema:
            type: string
            pattern: '^(staging|previous|preview/task-[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?|[0-9a-fA-F]{7,40})$'
      responses:
        '200':
          description: The difference.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Diff'}
        '400': {$ref: '#/components/responses/Error'}
        '401': {$ref: '#/components/responses/Error'}
        '403': {$ref: '#/components/responses/Error'}
        '404': {$ref: '#/components/responses/Error'}
        '409': {$ref: '#/components/responses/Error'}
        '422': {$ref: '#/components/responses/Error'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /healthz:
    get:
      operationId: healthz
      summary: Liveness
      security: []
      responses:
        '200':
          description: The process is alive.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Status'}
  /version:
    get:
      operationId: version
      summary: The running build (version, git commit, libgit2)
      security: []
      responses:
        '200':
          description: The version, the git commit it was built from ("unknown" when the build did not say), and the libgit2 it runs with.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Version'}
  /readyz:
    get:
      operationId: readyz
      summary: Readiness (the git remote has been reached)
      security: []
      responses:
        '200':
          description: Ready.
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Status'}
        '503': {$ref: '#/components/responses/Unavailable'}
  /metrics:
    get:
      operationId: metrics
      summary: Prometheus metrics
      security: []
      responses:
        '200':
          description: Prometheus text format.
          content:
            text/plain:
              schema: {type: string}
  /openapi.yaml:
    get:
      operationId: openapi
      summary: This document
      security: []
      responses:
        '200':
          description: The OpenAPI document.
          content:
            application/yaml:
              schema: {type: string}
components:
  securitySchemes:
    bearer:
      type: http
      scheme: bearer
  parameters:
    TaskId:
      name: id
      in: path
      required: true
      description: The task id.
      schema:
        type: string
        pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
    Project:
      name: project
      in: path
      required: true
      description: The project.
      schema: {$ref: '#/components/schemas/ProjectName'}
    Environment:
      name: env
      in: path
      required: true
      schema:
        type: string
        enum: [staging, production]
    Wait:
      name: wait
      in: query
      required: false
      description: ready, to answer once the Application is ready or has failed (at most timeout); needs argocd.server (409 wait_unavailable otherwise).
      schema:
        type: string
        enum:
          - ready
    WaitTimeout:
      name: timeout
      in: query
      required: false
      description: Seconds wait=ready waits at most (default 60); read only with wait.
      schema:
        type: integer
        minimum: 1
        maximum: 600
  responses:
    Error:
      description: An error, naming the field and the rule.
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
          example: {error: {code: invalid_task_id, message: "taskId: must match ^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"}}
    Unavailable:
      description: The git remote or the registry can't be reached; retry after the given seconds.
      headers:
        Retry-After:
          schema: {type: integer}
      content:
        application/json:
          schema: {$ref: '#/components/schemas/Error'}
          example: {error: {code: git_unavailable, message: "the git remote can't be reached: connection refused"}}
  schemas:
    Images:
      type: object
      description: Service name → OCI image reference.
      additionalProperties:
        type: string
        maxLength: 512
    ImagesRequest:
      type: object
      description: Service name (from the catalog) → OCI image reference, at least one.
      minProperties: 1
      propertyNames:
        enum: [backend, frontend]
      additionalProperties:
        type: string
        maxLength: 512
        pattern: '^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?:(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])|localhost)/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*|[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+|[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}))?$'
    Requester:
      type: string
      minLength: 1
      maxLength: 200
      pattern: '^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$'
    ProjectName:
      type: string
      description: aiworker (built in), or a registered project.
      pattern: '^[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?$'
    ProjectImagesRequest:
      type: object
      description: Service name (of the project's catalog) → OCI image reference, at least one.
      minProperties: 1
      propertyNames:
        pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
      additionalProperties:
        type: string
        maxLength: 512
        pattern: '^(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+(?::(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?:(?:[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])|localhost)/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*|[a-z0-9]+(?:(?:_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)+|[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128}))?$'
    DeployPreviewRequest:
      description: A preview of aiworker (project absent or aiworker; images name its services) or of a registered project.
      oneOf:
        - $ref: '#/components/schemas/DeployAiworkerPreviewRequest'
        - $ref: '#/components/schemas/DeployProjectPreviewRequest'
    DeployAiworkerPreviewRequest:
      type: object
      example: {images: {backend: 'git.fuq.tv/admin/aiworker-backend:pr-42'}, ttl: 7d, requestedBy: aiworker-backend}
      additionalProperties: false
      required: [images]
      properties:
        project: {const: aiworker}
        images: {$ref: '#/components/schemas/ImagesRequest'}
        ttl:
          type: string
          description: Time to live such as 7d or 12h, at most the project's preview.maxTTL (30d unless the project sets another).
          pattern: '^(?:(?:[1-9][0-9]{0,5}|1[0-9]{6}|2[0-4][0-9]{5}|25[0-8][0-9]{4}|259[01][0-9]{3}|2592000)s|(?:[1-9][0-9]{0,3}|[1-3][0-9]{4}|4[0-2][0-9]{3}|43[01][0-9]{2}|43200)m|(?:[1-9][0-9]?|[1-6][0-9]{2}|7[01][0-9]|720)h|(?:[1-9]|[12][0-9]|30)d)$'
        requestedBy: {$ref: '#/components/schemas/Requester'}
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
    DeployProjectPreviewRequest:
      type: object
      example: {project: shop, images: {web: 'git.fuq.tv/shop/web:pr-3'}}
      additionalProperties: false
      required: [project, images]
      properties:
        project:
          allOf:
            - $ref: '#/components/schemas/ProjectName'
            - not: {const: aiworker}
        images: {$ref: '#/components/schemas/ProjectImagesRequest'}
        ttl:
          type: string
          description: Time to live such as 7d or 12h, at most the project's preview.maxTTL (30d unless the project sets another).
          pattern: '^(?:(?:[1-9][0-9]{0,5}|1[0-9]{6}|2[0-4][0-9]{5}|25[0-8][0-9]{4}|259[01][0-9]{3}|2592000)s|(?:[1-9][0-9]{0,3}|[1-3][0-9]{4}|4[0-2][0-9]{3}|43[01][0-9]{2}|43200)m|(?:[1-9][0-9]?|[1-6][0-9]{2}|7[01][0-9]|720)h|(?:[1-9]|[12][0-9]|30)d)$'
        requestedBy: {$ref: '#/components/schemas/Requester'}
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
    DeployEnvironmentRequest:
      type: object
      example: {images: {backend: 'git.fuq.tv/admin/aiworker-backend:v1.4.0', frontend: 'git.fuq.tv/admin/aiworker-frontend:v1.4.0'}}
      additionalProperties: false
      required: [images]
      properties:
        images: {$ref: '#/components/schemas/ImagesRequest'}
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
    ProjectDeployEnvironmentRequest:
      type: object
      additionalProperties: false
      required: [images]
      properties:
        images: {$ref: '#/components/schemas/ProjectImagesRequest'}
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
    ProjectPromoteRequest:
      description: staging → production, or a preview → staging.
      oneOf:
        - $ref: '#/components/schemas/ProjectPromoteRequestToProduction'
        - $ref: '#/components/schemas/ProjectPromoteRequestToStaging'
    ProjectPromoteRequestToProduction:
      type: object
      additionalProperties: false
      required: [from, to]
      properties:
        from: {const: staging}
        to: {const: production}
        services:
          type: array
          uniqueItems: true
          description: Only these services of the project; the others keep what the target runs. Each at most once.
          items:
            type: string
            pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
        review: {type: boolean}
        allowTag:
          type: boolean
          description: Let production take images named by tag instead of digest.
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
        force:
          type: boolean
          description: Promote even though Argo CD does not report the source ready (the gate); needs reason, recorded in the commit as Gate forced.
        reason:
          type: string
          description: Why the promotion is forced (read only with force true, and then required); one line of 3 to 200 characters, into the commit's Gate trailer.
          minLength: 3
          maxLength: 200
    ProjectPromoteRequestToStaging:
      type: object
      additionalProperties: false
      required: [from, to]
      properties:
        from:
          type: string
          description: preview/task-<id> of a preview of the project
          pattern: '^preview/task-[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
        to: {const: staging}
        services:
          type: array
          uniqueItems: true
          description: Only these services of the project; the others keep what the target runs. Each at most once.
          items:
            type: string
            pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
        review: {type: boolean}
        allowTag:
          type: boolean
          description: Let production take images named by tag instead of digest.
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
        force:
          type: boolean
          description: Promote even though Argo CD does not report the source ready (the gate); needs reason, recorded in the commit as Gate forced.
        reason:
          type: string
          description: Why the promotion is forced (read only with force true, and then required); one line of 3 to 200 characters, into the commit's Gate trailer.
          minLength: 3
          maxLength: 200
    PromoteRequest:
      description: staging → production, or a preview → staging.
      oneOf:
        - $ref: '#/components/schemas/PromoteRequestToProduction'
        - $ref: '#/components/schemas/PromoteRequestToStaging'
    PromoteRequestToProduction:
      type: object
      example: {from: staging, to: production}
      additionalProperties: false
      required: [from, to]
      properties:
        from: {const: staging}
        to: {const: production}
        services:
          type: array
          uniqueItems: true
          description: Only these services; the others keep what the target runs. Each at most once.
          items:
            type: string
            enum: [backend, frontend]
        review: {type: boolean}
        allowTag:
          type: boolean
          description: Let production take images named by tag instead of digest.
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
        force:
          type: boolean
          description: Promote even though Argo CD does not report the source ready (the gate); needs reason, recorded in the commit as Gate forced.
        reason:
          type: string
          description: Why the promotion is forced (read only with force true, and then required); one line of 3 to 200 characters, into the commit's Gate trailer.
          minLength: 3
          maxLength: 200
    PromoteRequestToStaging:
      type: object
      additionalProperties: false
      required: [from, to]
      properties:
        from:
          type: string
          description: preview/task-<id>
          pattern: '^preview/task-[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
        to: {const: staging}
        services:
          type: array
          uniqueItems: true
          description: Only these services; the others keep what the target runs. Each at most once.
          items:
            type: string
            enum: [backend, frontend]
        review: {type: boolean}
        allowTag:
          type: boolean
          description: Let production take images named by tag instead of digest.
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
        force:
          type: boolean
          description: Promote even though Argo CD does not report the source ready (the gate); needs reason, recorded in the commit as Gate forced.
        reason:
          type: string
          description: Why the promotion is forced (read only with force true, and then required); one line of 3 to 200 characters, into the commit's Gate trailer.
          minLength: 3
          maxLength: 200
    RollbackRequest:
      type: object
      example: {to: previous}
      additionalProperties: false
      required: [to]
      properties:
        to:
          type: string
          description: previous, or a commit id
          pattern: '^(previous|[0-9a-f]{7,40})$'
        requestedBy: {$ref: '#/components/schemas/Requester'}
        expected:
          type: string
          description: The commit that last changed the target environment as the caller saw it; if it moved, 409 conflict and nothing is committed.
          pattern: '^[0-9a-fA-F]{7,40}$'
        dryRun:
          type: boolean
          description: Check and plan on the remote's tip, answer what would be committed (dryRun, base, message, paths), commit nothing.
    Preview:
      type: object
      required: [taskId, namespace, url, path, images, project]
      properties:
        project: {type: string}
        taskId: {type: string}
        namespace: {type: string}
        url: {type: string}
        path: {type: string}
        commit: {type: [string, 'null']}
        expiresAt: {type: [string, 'null']}
        changed: {type: boolean}
        images: {$ref: '#/components/schemas/Images'}
        status: {$ref: '#/components/schemas/ApplicationStatus'}
    ApplicationStatus:
      type: object
      description: >-
        The Argo CD Application of the preview or environment, as Argo CD reports it (present when
        argocd.server is configured). ready: Synced at the commit that last changed the directory
        or later, Healthy, and the last operation did not fail. failed: Degraded, or the last
        operation Failed or Error, at such a revision.
      required: [application, ready, failed, checkedAt]
      properties:
        application: {type: string}
        sync: {type: string, description: 'status.sync.status: Synced, OutOfSync, Unknown'}
        revision: {type: string, description: status.sync.revision}
        health: {type: string, description: 'status.health.status: Healthy, Progressing, Degraded, Suspended, Missing, Unknown'}
        operation: {type: string, description: 'status.operationState.phase: Running, Succeeded, Failed, Error, Terminating'}
        ready: {type: boolean}
        failed: {type: boolean}
        reason: {type: string, description: Why it is not ready.}
        error: {type: string, description: Argo CD (or git) could not be asked; the rest is unknown.}
        checkedAt: {type: string, format: date-time}
    StringMap:
      type: object
      additionalProperties: {type: string}
    SecretRef:
      type: object
      additionalProperties: false
      required: [secret, key]
      properties:
        secret: {type: string}
        key: {type: string}
    SecretEnv:
      type: object
      additionalProperties: {$ref: '#/components/schemas/SecretRef'}
    Resources:
      type: object
      additionalProperties: false
      properties:
        requests: {$ref: '#/components/schemas/StringMap'}
        limits: {$ref: '#/components/schemas/StringMap'}
    ServiceOverrides:
      type: object
      additionalProperties: false
      properties:
        env: {$ref: '#/components/schemas/StringMap'}
        secretEnv: {$ref: '#/components/schemas/SecretEnv'}
        replicas: {type: integer}
        resources: {$ref: '#/components/schemas/Resources'}
    Service:
      type: object
      description: One service, in the schema of templates/services/*.yaml.
      additionalProperties: false
      required: [port]
      properties:
        description: {type: string}
        port: {type: integer}
        path: {type: string}
        healthPath: {type: string}
        defaultImage: {type: string}
        hosts:
          type: object
          additionalProperties: false
          properties:
            staging: {type: string}
            production: {type: string}
        env: {$ref: '#/components/schemas/StringMap'}
        secretEnv: {$ref: '#/components/schemas/SecretEnv'}
        resources: {$ref: '#/components/schemas/Resources'}
        runAsUser: {type: integer}
        readOnlyRootFilesystem: {type: boolean}
        writablePaths: {type: array, items: {type: string}}
        environments:
          type: object
          additionalProperties: false
          properties:
            preview: {$ref: '#/components/schemas/ServiceOverrides'}
            staging: {$ref: '#/components/schemas/ServiceOverrides'}
            production: {$ref: '#/components/schemas/ServiceOverrides'}
    StableOverrides:
      type: object
      additionalProperties: false
      properties:
        replicas: {type: integer}
        maxReplicas: {type: integer}
        disruptionBudget: {type: boolean}
        requireDigest: {type: boolean}
    EnvironmentOverrides:
      type: object
      description: Overrides of templates/environments.yaml for this project.
      additionalProperties: false
      properties:
        preview:
          type: object
          additionalProperties: false
          properties:
            defaultTTL: {type: string}
            maxTTL: {type: string}
            replicas: {type: integer}
            quota: {$ref: '#/components/schemas/StringMap'}
            limitRange:
              type: object
              additionalProperties: false
              properties:
                max: {$ref: '#/components/schemas/StringMap'}
                default: {$ref: '#/components/schemas/StringMap'}
                defaultRequest: {$ref: '#/components/schemas/StringMap'}
            egressNamespaces: {type: array, items: {type: string}}
        staging: {$ref: '#/components/schemas/StableOverrides'}
        production: {$ref: '#/components/schemas/StableOverrides'}
    ProjectRequest:
      type: object
      example: {services: {web: {port: 8080, path: /, healthPath: /healthz}}}
      additionalProperties: false
      required: [services]
      properties:
        services:
          type: object
          description: Service name (a DNS label) → its settings.
          minProperties: 1
          propertyNames:
            pattern: '^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$'
          additionalProperties: {$ref: '#/components/schemas/Service'}
        environments: {$ref: '#/components/schemas/EnvironmentOverrides'}
    Project:
      type: object
      required: [project, builtIn, path, services]
      properties:
        project: {type: string}
        builtIn: {type: boolean}
        path: {type: string}
        services:
          type: object
          additionalProperties: {$ref: '#/components/schemas/Service'}
        environments: {$ref: '#/components/schemas/EnvironmentOverrides'}
        commit: {type: [string, 'null']}
        changed: {type: boolean}
        created: {type: boolean}
    CommitAnswer:
      type: object
      required: [commit]
      properties:
        commit: {type: [string, 'null']}
        taskId: {type: string}
        changed: {type: boolean}
    EnvironmentAnswer:
      type: object
      required: [project, environment, path, images, tags]
      properties:
        project: {type: string}
        environment: {type: string}
        path:
          type: string
          description: staging/<project> or production/<project>.
        commit:
          type: [string, 'null']
          description: The commit made (the tip when nothing changed); for a read, the last commit that touched the environment.
        changed: {type: boolean}
        images: {$ref: '#/components/schemas/Images'}
        tags:
          $ref: '#/components/schemas/Images'
          description: Service → the tag a pinned image was resolved from.
        changes:
          type: array
          items: {$ref: '#/components/schemas/ImageChange'}
        restoredFrom:
          type: string
          description: For a rollback, the commit whose content was restored.
        subject: {type: string}
        date: {type: string}
        status: {$ref: '#/components/schemas/ApplicationStatus'}
    DryRunPaths:
      type: object
      description: The files a write would add, change and remove.
      required: [added, changed, removed]
      properties:
        added: {type: array, items: {type: string}}
        changed: {type: array, items: {type: string}}
        removed: {type: array, items: {type: string}}
    Diff:
      type: object
      required: [project, from, to, changes, paths]
      properties:
        project: {type: string}
        from: {type: string}
        to: {type: string}
        base: {type: [string, 'null']}
        changes:
          type: array
          items: {$ref: '#/components/schemas/ImageChange'}
        paths: {$ref: '#/components/schemas/DryRunPaths'}
    ImageChange:
      type: object
      description: One service's image before and after; `from` is absent for a service the environment did not run yet.
      required: [service, to]
      properties:
        service: {type: string}
        from: {type: [string, 'null']}
        to: {type: [string, 'null']}
    PromoteAnswer:
      type: object
      required: [project, changes]
      properties:
        project: {type: string}
        from: {type: string}
        to: {type: string}
        commit: {type: [string, 'null']}
        branch: {type: [string, 'null']}
        changed: {type: boolean}
        changes:
          type: array
          items: {$ref: '#/components/schemas/ImageChange'}
        images: {$ref: '#/components/schemas/Images'}
        tags: {$ref: '#/components/schemas/Images'}
        gate:
          type: string
          enum:
            - ready
            - forced
            - unchecked
          description: ready when Argo CD reported the source ready at its last change, forced when force skipped that check, unchecked when no Argo CD is configured.
    History:
      type: object
      required: [project, environment, path, entries]
      properties:
        project: {type: string}
        environment: {type: string}
        path: {type: string}
        entries:
          type: array
          items:
            type: object
            required: [commit, subject, author, date, images]
            properties:
              commit: {type: string}
              subject: {type: string}
              author: {type: string}
              requestedBy: {type: [string, 'null']}
              operation: {type: [string, 'null']}
              date: {type: string}
              images:
                type: array
                items: {type: string}
    Status:
      type: object
      required: [status]
      properties:
        status: {type: string}
    Version:
      type: object
      required: [version, commit, libgit2]
      additionalProperties: false
      properties:
        version: {type: string, example: 0.1.0}
        commit: {type: string, example: 1a2b3c4d5e6f}
        libgit2: {type: string, example: 1.5.1}
    Error:
      type: object
      required: [error]
      properties:
        error:
          type: object
          required: [code, message]
          properties:
            code: {type: string}
            message: {type: string}
"""#
}
