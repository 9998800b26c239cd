window.greenlight = { release: "{{release}}" };
