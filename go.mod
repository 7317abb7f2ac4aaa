module github.com/dirbridge/dirbridge

go 1.26.8

require (
	github.com/hashicorp/go-retryablehttp v0.7.8
	github.com/rs/zerolog v1.35.1
	golang.org/x/oauth2 v0.37.0
	golang.org/x/time v0.16.0
)

require (
	github.com/hashicorp/go-cleanhttp v0.5.2 // indirect
	github.com/mattn/go-colorable v0.1.14 // indirect
	github.com/mattn/go-isatty v0.0.20 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
