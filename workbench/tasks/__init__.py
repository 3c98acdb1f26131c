"""Task inbox: versioned templates with typed forms, dispatch, lifecycle, confirmation, progress."""
