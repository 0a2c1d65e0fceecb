export function Onboarding() { return <div>onboarding</div>; }
