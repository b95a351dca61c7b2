# The Latchkey image: the single `latchkey` binary on distroless, as the
# chart (charts/latchkey, which runs `/latchkey controller ...` as user
# 65532) and the Argo CD plugin sidecars (deploy/argocd, which run
# `/latchkey render ...`) use it. No git, no shell: Git is go-git, Helm and
# Kustomize run in process.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t ghcr.io/latchkey-dev/latchkey:TAG .

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-X main.version=${VERSION}" -o /out/latchkey ./cmd/latchkey

FROM gcr.io/distroless/static:nonroot
COPY --from=build /out/latchkey /latchkey
USER 65532:65532
ENTRYPOINT ["/latchkey"]
