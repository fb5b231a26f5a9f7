module github.com/umm-project/umm/sdk/go

go 1.27.3

require github.com/go-jose/go-jose/v4 v4.1.9
