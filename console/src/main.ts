import 'element-plus/theme-chalk/base.css';
import 'element-plus/theme-chalk/el-message.css';
import 'element-plus/theme-chalk/el-message-box.css';
import { createApp } from 'vue';
import { createRouter, createWebHashHistory } from 'vue-router';
import App from './App.vue';
import { whenSessionLost } from './api';
import Applications from './pages/Applications.vue';
import { forget, restore } from './session';
import './style.css';

// Pages other than the inbox load on first visit (ECharts only with the statistics).
// Hash history: the gateway serves one index.html, and nothing personal ever goes into these paths.
const router = createRouter({
  history: createWebHashHistory(),
  routes: [
    { path: '/', redirect: '/applications' },
    { path: '/applications', component: Applications },
    { path: '/audit', component: () => import('./pages/Audit.vue') },
    { path: '/catalog', component: () => import('./pages/Catalog.vue') },
    { path: '/grants', component: () => import('./pages/Grants.vue') },
    { path: '/stats', component: () => import('./pages/Stats.vue') },
    { path: '/identities', component: () => import('./pages/Identities.vue') },
    { path: '/exchange', component: () => import('./pages/Exchange.vue') },
    { path: '/offline', component: () => import('./pages/Offline.vue') },
    { path: '/oversight', component: () => import('./pages/Oversight.vue') },
  ],
});

whenSessionLost(forget);
void restore();
createApp(App).use(router).mount('#app');
