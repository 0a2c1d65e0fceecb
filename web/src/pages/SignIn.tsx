export function SignIn() { return <div>sign in</div>; }
